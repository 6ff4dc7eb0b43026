// The whole onboarding on a development line: `keyline run` provisions devices and registers
// them in keyline-registry over mutual TLS with the station key in the HSM (pkcs11-helper's
// OpenSSL key), the back-end being down during a run loses nothing (`keyline registry sync`
// delivers every registration exactly once later), and each virtual wearable bootstraps itself
// with its own key and certificate.
#include "fake_backend.h"
#include "line_registry.h"
#include "run_process.h"

#include <QUrl>

using namespace keyline;
using keyline::test::buildPath;
using keyline::test::CliRun;
using keyline::test::configureBackend;
using keyline::test::freePort;
using keyline::test::LineFixture;
using keyline::test::LineRegistry;
using keyline::test::registryDeviceIds;
using keyline::test::registryList;
using keyline::test::RunProcess;
using keyline::test::SimProcess;

namespace {

QJsonObject eventNamed(const RunProcess& run, const QString& name) {
    for (const QJsonObject& e : run.events)
        if (e.value(QStringLiteral("event")).toString() == name)
            return e;
    return {};
}

// Runs the whole order on `quantity` slots: every device passes and `pending` registrations are
// left in the outbox at the end.
void provisionAll(LineFixture& f, const QString& order, int quantity, int pending) {
    RunProcess run(f, order, quantity, 10);
    run.readUntil({}, 180000);
    INFO(run.process.readAllStandardError().toStdString());
    CHECK(run.process.exitCode() == 0);
    CHECK(run.report().value(QStringLiteral("passed")).toInt() == quantity);
    CHECK(eventNamed(run, QStringLiteral("registrations"))
              .value(QStringLiteral("pending"))
              .toInt(-1) == pending);
}

// Provisions an order of `quantity` devices while the configured back-end (a free port on
// loopback, returned) is down: every registration waits in the outbox.
quint16 provisionWithBackendDown(LineFixture& f, const QString& order, int quantity) {
    test::makeOrder(f, order, quantity);
    const quint16 port = freePort();
    configureBackend(f, QStringLiteral("https://127.0.0.1:%1").arg(port));
    SimProcess sim(f, quantity, 1);
    provisionAll(f, order, quantity, quantity);
    return port;
}

} // namespace

TEST_CASE("a device is provisioned, registered and bootstraps itself", "[registration][line]") {
    LineFixture f;
    test::makeOrder(f, QStringLiteral("PO-REG"), 2);
    LineRegistry registry(f, 0);
    configureBackend(f, registry.url);
    SimProcess sim(f, 2, 1);
    provisionAll(f, QStringLiteral("PO-REG"), 2, 0);
    const QStringList created = registryDeviceIds(registryList(f), QStringLiteral("created"));
    CHECK(created.size() == 2);

    const CliRun doctor = f.run({QStringLiteral("doctor")});
    INFO(doctor.all().toStdString());
    CHECK(doctor.code == 0);
    CHECK(doctor.out.contains(QStringLiteral("reachable over mutual TLS")));

    QProcess boot;
    boot.start(buildPath("sim/keyline-wearable-sim"),
               {QStringLiteral("bootstrap"), QStringLiteral("--state-dir"), sim.stateDir,
                QStringLiteral("--registry"), registry.url, QStringLiteral("--ca"),
                f.exportFile(QStringLiteral("device-root-ca.pem"))});
    REQUIRE(boot.waitForFinished(60000));
    const QByteArray out = boot.readAllStandardOutput();
    INFO(out.toStdString() << boot.readAllStandardError().toStdString());
    CHECK(boot.exitCode() == 0);
    const QList<QByteArray> lines = out.trimmed().split('\n');
    CHECK(lines.size() == 2);
    for (const QByteArray& line : lines) {
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        CHECK(o.value(QStringLiteral("state")).toString() == QStringLiteral("bootstrapped"));
        const QJsonObject conf = o.value(QStringLiteral("configuration")).toObject();
        CHECK(conf.value(QStringLiteral("customerId")).toString() == QStringLiteral("acme"));
        CHECK(created.contains(conf.value(QStringLiteral("deviceId")).toString()));
    }
    CHECK(registryDeviceIds(registryList(f), QStringLiteral("bootstrapped")).size() == 2);
}

TEST_CASE("registry down during a run, up later: registry sync delivers each registration once",
          "[registration][line]") {
    LineFixture f;
    const quint16 port = provisionWithBackendDown(f, QStringLiteral("PO-DOWN"), 3);
    const CliRun down = f.run({QStringLiteral("registry"), QStringLiteral("sync")});
    INFO(down.all().toStdString());
    CHECK(down.code == 3);
    CHECK(down.out.contains(QStringLiteral("pending 3")));
    const CliRun doctorDown = f.run({QStringLiteral("doctor"), QStringLiteral("--json")});
    CHECK(doctorDown.code == 3);
    CHECK(doctorDown.out.contains(QStringLiteral("3 registrations pending")));

    LineRegistry registry(f, port);
    const CliRun up =
        f.expect({QStringLiteral("registry"), QStringLiteral("sync"), QStringLiteral("--json")}, 0);
    const QJsonObject report = QJsonDocument::fromJson(up.out.toUtf8()).object();
    CHECK(report.value(QStringLiteral("sent")).toInt() == 3);
    CHECK(report.value(QStringLiteral("pending")).toInt() == 0);
    const CliRun again =
        f.expect({QStringLiteral("registry"), QStringLiteral("sync"), QStringLiteral("--json")}, 0);
    CHECK(QJsonDocument::fromJson(again.out.toUtf8()).object().value(QStringLiteral("sent")) == 0);
    const QJsonObject list = registryList(f);
    const QStringList ids = registryDeviceIds(list, QStringLiteral("created"));
    CHECK(list.value(QStringLiteral("count")).toInt() == 3);
    CHECK(ids.size() == 3);
    CHECK(QSet<QString>(ids.begin(), ids.end()).size() == 3);
}

TEST_CASE("a back-end answering garbage during a run: every device passes and the "
          "registrations wait until it answers properly",
          "[registration][line]") {
    LineFixture f;
    test::makeOrder(f, QStringLiteral("PO-GARBAGE"), 2);
    quint16 port = 0;
    {
        // The station's TLS check passes (the registry's development certificate); what comes
        // back over it is not an answer.
        test::FakeBackend garbage(f.exportFile(QStringLiteral("registry-dev.pem")),
                                  f.exportFile(QStringLiteral("registry-dev.key")),
                                  "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                                  "Content-Length: 9\r\n\r\nnot json!");
        configureBackend(f, garbage.url);
        port = quint16(QUrl(garbage.url).port());
        SimProcess sim(f, 2, 1);
        provisionAll(f, QStringLiteral("PO-GARBAGE"), 2, 2);
    }
    LineRegistry registry(f, port);
    const CliRun up =
        f.expect({QStringLiteral("registry"), QStringLiteral("sync"), QStringLiteral("--json")}, 0);
    CHECK(QJsonDocument::fromJson(up.out.toUtf8()).object().value(QStringLiteral("sent")) == 2);
    CHECK(registryDeviceIds(registryList(f), QStringLiteral("created")).size() == 2);
}

TEST_CASE("backend settings are checked strictly", "[registration][config]") {
    LineFixture f;
    QFile conf(f.config);
    REQUIRE(conf.open(QIODevice::Append));
    conf.write("[backend]\nurl = http://127.0.0.1:8443\n");
    conf.close();
    const CliRun r = f.run({QStringLiteral("registry"), QStringLiteral("sync")});
    CHECK(r.code == 2);
    CHECK(r.err.contains(QStringLiteral("[backend/url]")));
}

TEST_CASE("registry sync --follow delivers once the back-end is up; SIGTERM stops it",
          "[registration][line]") {
    LineFixture f;
    const quint16 port = provisionWithBackendDown(f, QStringLiteral("PO-FOLLOW"), 2);
    QProcess follower;
    follower.start(buildPath("station/keyline"),
                   {QStringLiteral("--config"), f.config, QStringLiteral("registry"),
                    QStringLiteral("sync"), QStringLiteral("--follow"),
                    QStringLiteral("--interval"), QStringLiteral("1"), QStringLiteral("--json")});
    REQUIRE(follower.waitForStarted(5000));
    QByteArray pending;
    const auto nextPass = [&] {
        QElapsedTimer t;
        t.start();
        while (!pending.contains('\n') && t.elapsed() < 60000 &&
               follower.state() == QProcess::Running) {
            follower.waitForReadyRead(200);
            pending += follower.readAllStandardOutput();
        }
        INFO(follower.readAllStandardError().toStdString());
        REQUIRE(pending.contains('\n'));
        const qsizetype nl = pending.indexOf('\n');
        const QJsonObject o = QJsonDocument::fromJson(pending.left(nl)).object();
        pending.remove(0, nl + 1);
        return o;
    };
    const QJsonObject down = nextPass();
    CHECK(down.value(QStringLiteral("unreachable")).toBool());
    CHECK(down.value(QStringLiteral("pending")).toInt() == 2);

    LineRegistry registry(f, port);
    const QJsonObject up = nextPass();
    CHECK_FALSE(up.value(QStringLiteral("unreachable")).toBool());
    CHECK(up.value(QStringLiteral("sent")).toInt() == 2);
    CHECK(up.value(QStringLiteral("pending")).toInt() == 0);
    CHECK(follower.state() == QProcess::Running);

    follower.terminate();
    REQUIRE(follower.waitForFinished(10000));
    CHECK(follower.exitStatus() == QProcess::NormalExit);
    CHECK(follower.exitCode() == 0);
    CHECK(registryDeviceIds(registryList(f), QStringLiteral("created")).size() == 2);
}

TEST_CASE("registry sync --follow: usage and a missing back-end", "[registration][config]") {
    test::StationFixture f;
    const auto sync = [&f](const QStringList& extra) {
        return f.run(QStringList{QStringLiteral("registry"), QStringLiteral("sync")} + extra);
    };
    CHECK(sync({QStringLiteral("--interval"), QStringLiteral("5")}).code == 2);
    for (const char* bad : {"0", "86401", "soon"}) {
        const CliRun r =
            sync({QStringLiteral("--follow"), QStringLiteral("--interval"), QLatin1String(bad)});
        CHECK(r.code == 2);
        CHECK(r.err.contains(QStringLiteral("--interval must be 1 to 86400")));
    }
    const CliRun none = sync({QStringLiteral("--follow")});
    CHECK(none.code == 3);
    CHECK(none.err.contains(QStringLiteral("[backend] url")));
    CHECK(f.run({QStringLiteral("registry"), QStringLiteral("list"), QStringLiteral("--customer"),
                 QStringLiteral("acme"), QStringLiteral("--follow")})
              .code == 2);
}
