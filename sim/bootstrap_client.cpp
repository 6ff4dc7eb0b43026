#include "sim/bootstrap_client.h"

#include <QCommandLineParser>
#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QJsonDocument>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QSslConfiguration>
#include <QSslKey>
#include <QTimer>
#include <cstdio>

namespace keyline::sim {

namespace {

QSslCertificate certificateFrom(const QByteArray& data) {
    return QSslCertificate(data, data.startsWith("-----BEGIN") ? QSsl::Pem : QSsl::Der);
}

void printLine(FILE* to, const QByteArray& line) {
    fprintf(to, "%s\n", line.constData());
    fflush(to);
}

} // namespace

Result<QJsonObject> bootstrapDevice(const DeviceState& state, const QString& registryUrl,
                                    const QByteArray& caPem, int timeoutMs) {
    if (state.deviceKeyPem.isEmpty() || state.certificateChain.isEmpty())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("device %1 has no device key and certificate yet")
                         .arg(QString::fromLatin1(state.chipUid.toHex())));
    QList<QSslCertificate> chain;
    for (const QByteArray& c : state.certificateChain)
        chain.append(certificateFrom(c));
    const QSslCertificate& leaf = chain.constFirst();
    const QStringList cn = leaf.subjectInfo(QSslCertificate::CommonName);
    const QStringList org = leaf.subjectInfo(QSslCertificate::Organization);
    if (leaf.isNull() || cn.size() != 1 || org.size() != 1)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("the device certificate has no single CN and O"));
    const QSslKey key(state.deviceKeyPem, QSsl::Ec, QSsl::Pem, QSsl::PrivateKey);
    if (key.isNull())
        return Error(ErrorCode::BadInput, QStringLiteral("the device key does not parse"));

    QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
    tls.setProtocol(QSsl::TlsV1_2OrLater);
    tls.setPeerVerifyMode(QSslSocket::VerifyPeer);
    tls.setCaCertificates(QSslCertificate::fromData(caPem, QSsl::Pem));
    tls.setLocalCertificateChain(chain);
    tls.setPrivateKey(key);
    QUrl url(registryUrl);
    url.setPath(QStringLiteral("/v1/customers/%1/devices/%2/bootstrap")
                    .arg(org.constFirst(), cn.constFirst()));
    QNetworkRequest request(url);
    request.setSslConfiguration(tls);
    request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    QNetworkAccessManager manager;
    QNetworkReply* reply = manager.post(request, QByteArray());
    QEventLoop loop;
    QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
    QTimer::singleShot(timeoutMs, &loop, [reply] { reply->abort(); });
    if (!reply->isFinished())
        loop.exec();
    const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QByteArray body = reply->read(64 * 1024);
    const QString errorText = reply->errorString();
    delete reply;
    if (status == 0)
        return Error(ErrorCode::EnvironmentNotReady,
                     QStringLiteral("registry %1 not reached: %2").arg(registryUrl, errorText));
    const QJsonObject answer = QJsonDocument::fromJson(body).object();
    if (status != 200)
        return Error(ErrorCode::Refused,
                     QStringLiteral("registry answered HTTP %1 %2: %3")
                         .arg(status)
                         .arg(answer.value(QStringLiteral("error")).toString(),
                              answer.value(QStringLiteral("message")).toString()),
                     status);
    if (!answer.value(QStringLiteral("configuration")).isObject())
        return Error(ErrorCode::BadInput, QStringLiteral("registry answer has no configuration"));
    return answer;
}

int runBootstrapCommand(const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption stateDir(QStringLiteral("state-dir"), QString(), QStringLiteral("D"));
    const QCommandLineOption registry(QStringLiteral("registry"), QString(), QStringLiteral("URL"));
    const QCommandLineOption ca(QStringLiteral("ca"), QString(), QStringLiteral("PEM"));
    const QCommandLineOption device(QStringLiteral("device"), QString(), QStringLiteral("ID"));
    parser.addOptions({stateDir, registry, ca, device});
    auto usage = [](const char* why) {
        fprintf(stderr,
                "keyline-wearable-sim bootstrap: %s\nUsage: keyline-wearable-sim bootstrap "
                "--state-dir D --registry https://HOST:PORT --ca PEM [--device ID]\n",
                why);
        return 2;
    };
    if (!parser.parse(QStringList{QStringLiteral("bootstrap")} + args))
        return usage(qPrintable(parser.errorText()));
    if (!parser.isSet(stateDir) || !parser.isSet(registry) || !parser.isSet(ca))
        return usage("--state-dir, --registry and --ca are required");
    QFile caFile(parser.value(ca));
    if (!caFile.open(QIODevice::ReadOnly))
        return usage("cannot read --ca");
    const QByteArray caPem = caFile.readAll();
    const QDir devices(QDir(parser.value(stateDir)).filePath(QStringLiteral("devices")));
    int done = 0, failed = 0, unreachable = 0;
    for (const QString& uid : devices.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
        auto state = DeviceStore(devices.filePath(uid)).loadState();
        if (!state || state->certificateChain.isEmpty())
            continue;
        const QString id = certificateFrom(state->certificateChain.constFirst())
                               .subjectInfo(QSslCertificate::CommonName)
                               .value(0);
        const QString wanted = parser.value(device);
        if (!wanted.isEmpty() && wanted != id && wanted != uid)
            continue;
        auto answer = bootstrapDevice(*state, parser.value(registry), caPem);
        QJsonObject line{{QStringLiteral("deviceId"), id}, {QStringLiteral("chipUid"), uid}};
        if (answer) {
            line.insert(QStringLiteral("configuration"),
                        answer->value(QStringLiteral("configuration")));
            line.insert(
                QStringLiteral("state"),
                answer->value(QStringLiteral("device")).toObject().value(QStringLiteral("state")));
            ++done;
        } else {
            line.insert(QStringLiteral("error"), answer.error().toString());
            ++(answer.error().code() == ErrorCode::EnvironmentNotReady ? unreachable : failed);
        }
        printLine(stdout, QJsonDocument(line).toJson(QJsonDocument::Compact));
    }
    if (done + failed + unreachable == 0) {
        fprintf(stderr, "keyline-wearable-sim bootstrap: no device with a certificate%s\n",
                parser.isSet(device) ? " matches --device" : " in the state directory");
        return 1;
    }
    return unreachable > 0 ? 3 : failed > 0 ? 1 : 0;
}

} // namespace keyline::sim
