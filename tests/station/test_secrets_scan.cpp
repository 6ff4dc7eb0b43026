// No secret in anything the station leaves behind (DESIGN §4): a whole order end to end — the
// development token with known PINs, operators with known PINs, `keyline run` with faults so
// that error paths run too, the registry down and then up, audit exports in both formats,
// doctor, order show, the metrics textfile — then every byte of every output, report, export,
// database row and file is searched for the PINs, the image key, the wrapped keys the station
// sent, and the private keys of the devices and of the development back-end.
#include "hsm/dev_token.h"
#include "line_checks.h"
#include "line_registry.h"
#include "run_process.h"
#include "secret_scan.h"

#include <QSqlField>
#include <QSqlRecord>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

using namespace keyline;
using namespace keyline::test;

namespace {

const QByteArray kSoPin = "SO-pin-for-the-scan-93017";
const QByteArray kOperatorPin = "olga-Pin-the-scan-57213";
const QByteArray kSupervisorPin = "sam-Pin-the-scan-80461";
const QByteArray kMistypedPin = "sam-Pin-the-scan-80416";

// The private scalar of a PEM private key (P-256: 32 bytes).
QByteArray privateScalar(const QByteArray& pem) {
    BIO* bio = BIO_new_mem_buf(pem.constData(), int(pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    REQUIRE(key != nullptr);
    BIGNUM* d = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d) == 1);
    QByteArray out(32, '\0');
    REQUIRE(BN_bn2binpad(d, reinterpret_cast<unsigned char*>(out.data()), int(out.size())) == 32);
    BN_clear_free(d);
    EVP_PKEY_free(key);
    return out;
}

// Every table, every row, every column: as text and as the raw bytes the driver hands back.
void dumpDatabase(db::Database& database, QByteArray& text, QByteArray& raw) {
    for (const QString& table : database.tables()) {
        auto rows = database.exec(QStringLiteral("SELECT * FROM %1").arg(table));
        REQUIRE(rows.ok());
        text += "== " + table.toUtf8() + "\n";
        while (rows->next()) {
            const QSqlRecord record = rows->record();
            for (int i = 0; i < record.count(); ++i) {
                text +=
                    record.fieldName(i).toUtf8() + "=" + record.value(i).toString().toUtf8() + "\t";
                raw += record.value(i).toByteArray();
                raw += '\0';
            }
            text += '\n';
        }
    }
}

struct Capture {
    QByteArray log; // every command and what it printed

    void add(const QString& what, const QByteArray& bytes) {
        log += "\n### " + what.toUtf8() + "\n" + bytes;
    }
    // `expectedCode` -1: any exit code (the command is run for what it prints).
    CliRun cli(const LineFixture& f, const QStringList& args, int expectedCode) {
        const CliRun r = f.run(args);
        add(QStringLiteral("keyline ") + args.join(QLatin1Char(' ')), r.all().toUtf8());
        INFO("keyline " << args.join(QLatin1Char(' ')).toStdString() << "\n"
                        << r.all().toStdString());
        if (expectedCode >= 0)
            CHECK(r.code == expectedCode);
        return r;
    }
};

} // namespace

TEST_CASE("the secrets scanner finds a planted secret in each form and only there",
          "[station][secrets]") {
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const QByteArray key =
        QByteArray::fromHex("8c1f4e2a9b7d3c6e0f5a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f61");
    const QList<Secret> secrets{{QStringLiteral("the planted key"), key}};
    auto plant = [&](const QString& name, const QByteArray& bytes) {
        QFile f(QDir(dir.path()).filePath(name));
        REQUIRE(f.open(QIODevice::WriteOnly));
        f.write(bytes);
    };
    const QByteArray filler(100, 'x');
    plant(QStringLiteral("raw.bin"), filler + key + filler);
    plant(QStringLiteral("upper.txt"), "KCV " + key.toHex().toUpper() + "\n");
    // Inside a longer base64 text, one byte off the 3-byte grid, wrapped like PEM.
    QByteArray wrapped = (QByteArray("\x01") + key + QByteArray(40, '\x02')).toBase64();
    wrapped.insert(20, "\n");
    plant(QStringLiteral("b64.pem"), wrapped);
    // The same inside a JSON string, where the line break is the two characters \n.
    QByteArray escaped = (QByteArray("\x01\x02") + key).toBase64();
    escaped.insert(24, "\\n");
    plant(QStringLiteral("escaped.json"), "{\"pem\":\"" + escaped + "\"}");
    plant(QStringLiteral("pem.txt"), "-----BEGIN EC PRIVATE KEY-----\nAAAA\n");
    plant(QStringLiteral("clean.txt"), "nothing secret " + key.left(8).toHex() + "\n");

    int files = 0;
    const QList<SecretFinding> found = scanTree(dir.path(), secrets, {}, &files);
    CHECK(files == 6);
    QMap<QString, SecretFinding> byFile;
    for (const SecretFinding& f : found) {
        CHECK_FALSE(f.text().toUtf8().contains(key.toHex()));
        byFile.insert(f.where, f);
    }
    CHECK(byFile.size() == 5);
    CHECK(byFile.value(QStringLiteral("raw.bin")).offset == 100);
    CHECK(byFile.value(QStringLiteral("raw.bin")).form == QStringLiteral("raw"));
    CHECK(byFile.value(QStringLiteral("upper.txt")).offset == 4);
    CHECK(byFile.value(QStringLiteral("upper.txt")).form == QStringLiteral("HEX"));
    CHECK(byFile.value(QStringLiteral("b64.pem")).form.startsWith(QStringLiteral("base64")));
    CHECK(byFile.value(QStringLiteral("escaped.json")).form.endsWith(QStringLiteral("removed")));
    CHECK(byFile.value(QStringLiteral("pem.txt")).secret ==
          QStringLiteral("a PEM private key block"));
    CHECK_FALSE(byFile.contains(QStringLiteral("clean.txt")));
    // An excluded file is not read.
    CHECK(scanTree(dir.path(), secrets,
                   {QStringLiteral("raw"), QStringLiteral("upper"), QStringLiteral("b64"),
                    QStringLiteral("pem"), QStringLiteral("escaped")})
              .isEmpty());
}

TEST_CASE("no PIN key or wrapped key appears in any output export record or file of an order",
          "[station][secrets]") {
    // The token made with a known SO PIN by the station's own code, so that the scan can look
    // for it; init-dev then finds it and fills it (its own SO PIN would be random and lost).
    LineFixture f(QString(), [](const LineFixture& line) {
        auto conf = hsm::writeSoftHsmConfig(line.dataDir());
        REQUIRE(conf.ok());
        qputenv("SOFTHSM2_CONF", QFile::encodeName(*conf));
        auto created =
            hsm::ensureToken(kSoftHsmModule, QStringLiteral("keyline-dev"), kSoPin, kTestPin);
        INFO((created.ok() ? QString() : created.error().toString()).toStdString());
        REQUIRE(created.ok());
        CHECK(*created);
    });
    Capture capture;
    {
        const ScopedEnv admin("KEYLINE_OPERATOR_PIN", "0000");
        {
            const ScopedEnv pin("KEYLINE_NEW_OPERATOR_PIN", kOperatorPin);
            capture.cli(f,
                        {QStringLiteral("operator"), QStringLiteral("add"), QStringLiteral("olga"),
                         QStringLiteral("--role"), QStringLiteral("operator"),
                         QStringLiteral("--as"), QStringLiteral("line-service")},
                        0);
        }
        const ScopedEnv pin("KEYLINE_NEW_OPERATOR_PIN", kSupervisorPin);
        capture.cli(f,
                    {QStringLiteral("operator"), QStringLiteral("add"), QStringLiteral("sam"),
                     QStringLiteral("--role"), QStringLiteral("supervisor"), QStringLiteral("--as"),
                     QStringLiteral("line-service")},
                    0);
    }
    const QString order = QStringLiteral("PO-SECRET");
    // More units than can pass, so that every device is tried (a full order would turn the
    // last ones away before their faults show).
    makeOrder(f, order, 8);
    // The registry down during the run: every registration waits in the outbox, and the
    // first sync fails (its error is recorded), so those paths are searched too.
    const quint16 port = freePort();
    configureBackend(f, QStringLiteral("https://127.0.0.1:%1").arg(port));
    {
        QFile conf(f.config);
        REQUIRE(conf.open(QIODevice::Append));
        conf.write("[metrics]\ntextfile = " + f.path(QStringLiteral("keyline.prom")).toUtf8() +
                   "\ninterval_ms = 100\n");
    }
    const QStringList faults{QStringLiteral("4:counterfeit"), QStringLiteral("5:otp-burned-other"),
                             QStringLiteral("6:rng-repeat"), QStringLiteral("7:rng-repeat"),
                             QStringLiteral("8:garbage")};
    QStringList simArgs;
    for (const QString& fault : faults)
        simArgs << QStringLiteral("--fault") << fault;
    SimProcess sim(f, 8, 1, simArgs);
    {
        const ScopedEnv pin("KEYLINE_OPERATOR_PIN", kOperatorPin);
        RunProcess run(f, order, 8, 3, {QStringLiteral("--operator"), QStringLiteral("olga")});
        run.readUntil({}, 120000);
        CHECK(run.process.exitCode() == 1); // the planted faults fail their devices
        CHECK(run.report().value(QStringLiteral("passed")).toInt() == 4);
        CHECK(run.report().value(QStringLiteral("failed")).toInt() == 4);
        capture.add(QStringLiteral("keyline run --json (stdout)"), run.stdoutBytes);
        capture.add(QStringLiteral("keyline run --json (stderr)"),
                    run.process.readAllStandardError());
    }
    {
        const ScopedEnv pin("KEYLINE_OPERATOR_PIN", kOperatorPin);
        capture.cli(f,
                    {QStringLiteral("run"), QStringLiteral("--order"), order,
                     QStringLiteral("--idle-timeout"), QStringLiteral("1"),
                     QStringLiteral("--operator"), QStringLiteral("olga")},
                    1);
    }
    capture.cli(f, {QStringLiteral("registry"), QStringLiteral("sync")}, 3);
    capture.cli(f, {QStringLiteral("doctor")}, 3);
    QByteArray registryOutput;
    {
        LineRegistry registry(f, port);
        capture.cli(f, {QStringLiteral("registry"), QStringLiteral("sync")}, 0);
        capture.cli(f,
                    {QStringLiteral("registry"), QStringLiteral("list"),
                     QStringLiteral("--customer"), QStringLiteral("acme"),
                     QStringLiteral("--json")},
                    0);
        capture.cli(f, {QStringLiteral("doctor"), QStringLiteral("--json")}, 0);
        registry.process.terminate();
        registry.process.waitForFinished(5000);
        registryOutput =
            registry.process.readAllStandardOutput() + registry.process.readAllStandardError();
    }
    capture.add(QStringLiteral("keyline-registry"), registryOutput);
    capture.cli(f, {QStringLiteral("order"), QStringLiteral("show"), order}, 0);
    capture.cli(f, {QStringLiteral("order"), QStringLiteral("list")}, 0);
    capture.cli(f, {QStringLiteral("hsm"), QStringLiteral("keys")}, 0);
    capture.cli(f, {QStringLiteral("operator"), QStringLiteral("list")}, 0);
    for (const QString& format : {QStringLiteral("jsonl"), QStringLiteral("csv")}) {
        const QString out = f.path(QStringLiteral("audit-order.") + format);
        capture.cli(f,
                    {QStringLiteral("audit"), QStringLiteral("export"), QStringLiteral("--order"),
                     order, QStringLiteral("--format"), format, QStringLiteral("-o"), out},
                    0);
        capture.cli(f, {QStringLiteral("audit"), QStringLiteral("verify"), out}, 0);
    }
    {
        const QStringList exportAll{QStringLiteral("audit"),
                                    QStringLiteral("export"),
                                    QStringLiteral("--all"),
                                    QStringLiteral("--operator"),
                                    QStringLiteral("sam"),
                                    QStringLiteral("-o"),
                                    f.path(QStringLiteral("audit-all.jsonl"))};
        {
            const ScopedEnv pin("KEYLINE_OPERATOR_PIN", kMistypedPin);
            capture.cli(f, exportAll, 1);
        }
        const ScopedEnv pin("KEYLINE_OPERATOR_PIN", kSupervisorPin);
        capture.cli(f, exportAll, 0);
    }

    // What the scan looks for. The devices' own state (the simulator's) knows their keys, the
    // image key they burned and the wrapped keys the station sent them.
    QList<Secret> secrets{{QStringLiteral("HSM user PIN"), kTestPin},
                          {QStringLiteral("HSM SO PIN"), kSoPin},
                          {QStringLiteral("operator PIN of olga"), kOperatorPin},
                          {QStringLiteral("operator PIN of sam"), kSupervisorPin},
                          {QStringLiteral("a mistyped operator PIN"), kMistypedPin}};
    const QList<SimDevice> devices = simDevices(sim.stateDir);
    REQUIRE(devices.size() == 8);
    int wrappedKeys = 0;
    QSet<QByteArray> imageKeys;
    for (const SimDevice& d : devices) {
        const QString who = QStringLiteral(" of chip ") + d.chipUid;
        secrets.append(
            {QStringLiteral("chip identity private key") + who, privateScalar(d.chipKeyPem)});
        if (!d.deviceKeyPem.isEmpty())
            secrets.append(
                {QStringLiteral("device private key") + who, privateScalar(d.deviceKeyPem)});
        if (!d.otpKey.isEmpty())
            secrets.append({QStringLiteral("OTP key") + who, d.otpKey});
        if (d.locked)
            imageKeys.insert(d.otpKey);
        for (const QByteArray& w : d.otpBurnRequests) {
            secrets.append({QStringLiteral("wrapped image key sent") + who, w});
            ++wrappedKeys;
        }
    }
    CHECK(imageKeys.size() == 1); // the image key of the development set, as the devices hold it
    CHECK(wrappedKeys >= 4);
    secrets.append({QStringLiteral("development registry TLS key"),
                    privateScalar(readWhole(f.exportFile(QStringLiteral("registry-dev.key"))))});

    // Every table, every column, as text and raw, beside the database files themselves.
    QByteArray dumpText, dumpRaw;
    dumpDatabase(*f.openDatabase(), dumpText, dumpRaw);
    CHECK(dumpText.contains("== outbox"));
    CHECK(dumpText.contains("\"customerId\"")); // the registrations' payloads are in the dump
    REQUIRE(QDir().mkpath(f.path(QStringLiteral("scan"))));
    f.writeFile(QStringLiteral("scan/database.txt"), dumpText);
    f.writeFile(QStringLiteral("scan/database.bin"), dumpRaw);
    f.writeFile(QStringLiteral("scan/outputs.txt"), capture.log);
    CHECK(QFile::exists(f.path(QStringLiteral("keyline.prom"))));
    CHECK(QFile::exists(f.path(QStringLiteral("registry.db"))));

    // Not searched, each on purpose: the devices' own memory (the simulator's state holds their
    // keys by design), the HSM's token store, the configuration this test wrote (it holds the
    // HSM PIN as [hsm] pin), and the development back-end's TLS key, which init-dev exports
    // for keyline-registry (docs/key-inventory.md) — its scalar is searched for everywhere else.
    const QStringList excluded{QStringLiteral("sim/"), QStringLiteral("data/softhsm/"),
                               QStringLiteral("keyline.conf"),
                               QStringLiteral("data/export/registry-dev.key")};
    // The secrets are the real ones: the devices' own state holds each device secret.
    QSet<QString> inDevices;
    for (const SecretFinding& finding : scanTree(f.path(QStringLiteral("sim")), secrets))
        inDevices.insert(finding.secret);
    for (const Secret& s : secrets)
        if (s.name.contains(QStringLiteral(" of chip "))) {
            INFO(s.name.toStdString());
            CHECK(inDevices.contains(s.name));
        }
    // ... and the configuration holds the HSM PIN, as the test wrote it.
    const QList<SecretFinding> inConfig =
        scanBytes(QStringLiteral("keyline.conf"), readWhole(f.config), secrets);
    REQUIRE(inConfig.size() == 1);
    CHECK(inConfig.first().secret == QStringLiteral("HSM user PIN"));
    int files = 0;
    const QList<SecretFinding> findings = scanTree(f.dir.path(), secrets, excluded, &files);
    for (const SecretFinding& finding : findings)
        UNSCOPED_INFO(finding.text().toStdString());
    CHECK(findings.isEmpty());
    CHECK(files >= 10);
}
