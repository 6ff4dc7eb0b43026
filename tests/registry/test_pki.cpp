#include "test_pki.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <catch2/catch.hpp>

namespace {

void openssl(const QString& workDir, const QStringList& arguments) {
    QProcess p;
    p.setWorkingDirectory(workDir);
    p.start(QStringLiteral("openssl"), arguments);
    REQUIRE(p.waitForFinished(30000));
    INFO(arguments.join(QLatin1Char(' ')).toStdString() << "\n"
                                                        << p.readAllStandardError().toStdString());
    REQUIRE(p.exitCode() == 0);
}

void writeFile(const QString& path, const QByteArray& data) {
    QFile f(path);
    REQUIRE(f.open(QIODevice::WriteOnly));
    f.write(data);
}

QByteArray readFile(const QString& path) {
    QFile f(path);
    REQUIRE(f.open(QIODevice::ReadOnly));
    return f.readAll();
}

} // namespace

TestPki::TestPki() {
    REQUIRE(dir.isValid());
    const QString d = dir.path();
    auto newKey = [&](const QString& name) {
        openssl(d, {QStringLiteral("genpkey"), QStringLiteral("-algorithm"), QStringLiteral("EC"),
                    QStringLiteral("-pkeyopt"), QStringLiteral("ec_paramgen_curve:P-256"),
                    QStringLiteral("-out"), name + QStringLiteral(".key")});
    };
    auto selfSigned = [&](const QString& name, const QString& subject) {
        newKey(name);
        openssl(d,
                {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-new"),
                 QStringLiteral("-key"), name + QStringLiteral(".key"), QStringLiteral("-subj"),
                 subject, QStringLiteral("-days"), QStringLiteral("30"), QStringLiteral("-addext"),
                 QStringLiteral("basicConstraints=critical,CA:TRUE"), QStringLiteral("-addext"),
                 QStringLiteral("keyUsage=critical,keyCertSign,cRLSign"), QStringLiteral("-out"),
                 name + QStringLiteral(".pem")});
    };
    writeFile(path(QStringLiteral("ca.ext")),
              "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
              "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
    writeFile(path(QStringLiteral("client.ext")),
              "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\n"
              "authorityKeyIdentifier=keyid\n");
    writeFile(path(QStringLiteral("server.ext")),
              "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
              "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
              "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n");
    // Signs name's CSR with `issuer`; the result goes to name-leaf.pem.
    auto issue = [&](const QString& name, const QString& subject, const QString& issuer,
                     const QString& ext) {
        newKey(name);
        openssl(d, {QStringLiteral("req"), QStringLiteral("-new"), QStringLiteral("-key"),
                    name + QStringLiteral(".key"), QStringLiteral("-subj"), subject,
                    QStringLiteral("-out"), name + QStringLiteral(".csr")});
        openssl(d, {QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"),
                    name + QStringLiteral(".csr"), QStringLiteral("-CA"),
                    issuer + QStringLiteral(".pem"), QStringLiteral("-CAkey"),
                    issuer + QStringLiteral(".key"), QStringLiteral("-CAcreateserial"),
                    QStringLiteral("-days"), QStringLiteral("30"), QStringLiteral("-extfile"), ext,
                    QStringLiteral("-out"), name + QStringLiteral("-leaf.pem")});
    };
    selfSigned(QStringLiteral("root"), QStringLiteral("/CN=keyline-device-root-ca"));
    selfSigned(QStringLiteral("station-ca"), QStringLiteral("/CN=test-station-ca"));
    issue(QStringLiteral("issuing"), QStringLiteral("/CN=keyline-issuing-ca"),
          QStringLiteral("root"), QStringLiteral("ca.ext"));
    QFile::rename(path(QStringLiteral("issuing-leaf.pem")), path(QStringLiteral("issuing.pem")));
    writeFile(deviceCa(), readFile(rootCa()) + readFile(path(QStringLiteral("issuing.pem"))));

    const QString client = QStringLiteral("client.ext");
    issue(QStringLiteral("server"), QStringLiteral("/CN=localhost"), QStringLiteral("root"),
          QStringLiteral("server.ext"));
    issue(QStringLiteral("station"), QStringLiteral("/OU=station/CN=station-01"),
          QStringLiteral("root"), client);
    issue(QStringLiteral("station2"), QStringLiteral("/OU=station/CN=station-02"),
          QStringLiteral("station-ca"), client);
    const struct {
        const char* name;
        const char* subject;
    } devices[] = {
        {"dev1", "/O=acme/OU=dev/CN=dev-0001"},
        {"dev2", "/O=acme/OU=dev/CN=dev-0002"},
        {"dev1-other", "/O=acme/OU=dev/CN=dev-0001"}, // same device ID, another certificate
        {"globex1", "/O=globex/OU=prod/CN=gx-0001"},  // another customer's device
    };
    for (const auto& device : devices) {
        const QString name = QString::fromLatin1(device.name);
        issue(name, QString::fromLatin1(device.subject), QStringLiteral("issuing"), client);
        // A device presents its chain (leaf, issuing CA) like the real one stores it.
        writeFile(cert(name), readFile(leaf(name)) + readFile(path(QStringLiteral("issuing.pem"))));
    }
    for (const QString& name :
         {QStringLiteral("server"), QStringLiteral("station"), QStringLiteral("station2")})
        QFile::copy(leaf(name), cert(name));
}

QByteArray TestPki::leafPem(const QString& name) const {
    return readFile(leaf(name));
}

QByteArray TestPki::registration(const QString& name, const QString& deviceId,
                                 const QString& customer, const QString& chipUid) const {
    const QJsonObject body{
        {QStringLiteral("deviceId"), deviceId},
        {QStringLiteral("customerId"), customer},
        {QStringLiteral("environment"),
         customer == QLatin1String("globex") ? QStringLiteral("prod") : QStringLiteral("dev")},
        {QStringLiteral("chipUid"), chipUid},
        {QStringLiteral("state"), QStringLiteral("created")},
        {QStringLiteral("certificate"), QString::fromLatin1(leafPem(name))},
    };
    return QJsonDocument(body).toJson(QJsonDocument::Compact);
}
