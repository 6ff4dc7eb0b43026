// Failure modes (docs/failure-modes.md) a run must refuse before it touches any device: the
// order's package or keystore damaged on disk after the order was created, and a station clock
// years off (libfaketime on the real `keyline run`). Nothing is burned, issued or recorded;
// with the file restored or the clock right, the run finishes the order.
#include "db/audit_log.h"
#include "failure_modes.h"

#include <QFile>

using namespace keyline;
using keyline::test::LineFixture;
using keyline::test::RunProcess;
using keyline::test::SimProcess;

namespace {

qint64 auditEntries(const LineFixture& f) {
    auto db = f.openDatabase();
    auto chain = db::AuditLog(*db, QStringLiteral("test-line")).verifyChain();
    REQUIRE(chain.ok());
    return chain->entries;
}

// A run refused before any device: exit 3, one line that says each of `said`, no device event,
// no device recorded for the order and no audit entry written.
void checkRefusedBeforeDevices(const LineFixture& f, RunProcess& run, const QString& order,
                               const QStringList& said, qint64 auditBefore) {
    run.readUntil({});
    const QString error = run.errors();
    INFO("stderr: " << error.toStdString());
    CHECK(run.process.exitCode() == 3);
    CHECK_FALSE(error.contains(QLatin1Char('\n')));
    for (const QString& part : said)
        CHECK(error.contains(part));
    CHECK(run.events.isEmpty());
    auto devices = db::DeviceRepository(*f.openDatabase()).listForOrder(order);
    REQUIRE(devices.ok());
    CHECK(devices->empty());
    CHECK(auditEntries(f) == auditBefore);
}

QString faketimeLibrary() {
    for (const char* path : {"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                             "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                             "/usr/lib/faketime/libfaketime.so.1"})
        if (QFile::exists(QLatin1String(path)))
            return QLatin1String(path);
    return {};
}

} // namespace

TEST_CASE("an order's package or keystore damaged on disk is refused before any device",
          "[station][run][faults][failure-modes]") {
    LineFixture f;
    test::makeOrder(f, QStringLiteral("PO-DISK"), 1);
    SimProcess sim(f, 1, 1);
    const QString orderDir = QDir(f.dataDir()).filePath(QStringLiteral("orders/PO-DISK"));
    struct Row {
        const char* file;
        bool truncate; // else one byte flipped in the middle
    };
    const Row rows[] = {{"package.klpk", false}, {"package.klpk", true}, {"keystore.ks", false}};
    for (const Row& row : rows) {
        const QString path = QDir(orderDir).filePath(QLatin1String(row.file));
        INFO(path.toStdString() << (row.truncate ? " truncated" : " with a byte flipped"));
        QFile file(path);
        REQUIRE(file.open(QIODevice::ReadOnly));
        const QByteArray original = file.readAll();
        file.close();
        QByteArray damaged = original;
        if (row.truncate)
            damaged.chop(damaged.size() / 2);
        else
            damaged[damaged.size() / 2] = char(damaged[damaged.size() / 2] ^ 0x01);
        REQUIRE(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(damaged);
        file.close();
        const qint64 auditBefore = auditEntries(f);
        RunProcess run(f, QStringLiteral("PO-DISK"), 1, 2);
        checkRefusedBeforeDevices(
            f, run, QStringLiteral("PO-DISK"),
            {path + QStringLiteral(" has SHA-256"), QStringLiteral("restore it from a backup")},
            auditBefore);
        REQUIRE(file.open(QIODevice::WriteOnly | QIODevice::Truncate));
        file.write(original);
        file.close();
    }
    RunProcess run(f, QStringLiteral("PO-DISK"), 1, 2);
    run.readUntil({});
    INFO(run.errors().toStdString());
    CHECK(run.process.exitCode() == 0);
    test::checkInvariants(f, QStringLiteral("PO-DISK"), 1, {0, /*exactlyOneBurn=*/true});
}

namespace {

// The environment of a station process whose calendar is `offset` off (libfaketime's FAKETIME).
QProcessEnvironment clockOff(const QString& faketime, const QString& offset) {
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("LD_PRELOAD"), faketime);
    env.insert(QStringLiteral("FAKETIME"), offset);
    // Timers and timeouts keep real time; only the calendar is off.
    env.insert(QStringLiteral("FAKETIME_DONT_FAKE_MONOTONIC"), QStringLiteral("1"));
    // Under AddressSanitizer the preload comes before the ASan runtime.
    env.insert(QStringLiteral("ASAN_OPTIONS"), env.value(QStringLiteral("ASAN_OPTIONS")) +
                                                   QStringLiteral(":verify_asan_link_order=0"));
    return env;
}

} // namespace

TEST_CASE("a station clock years off is refused before any device and the audit log never "
          "goes back in time",
          "[station][run][faults][failure-modes][clock]") {
    const QString faketime = faketimeLibrary();
    INFO("libfaketime is missing: install the faketime package (scripts/setup)");
    REQUIRE_FALSE(faketime.isEmpty());
    LineFixture f; // its issuing CA is valid from 5 minutes ago for 10 years
    test::makeOrder(f, QStringLiteral("PO-CLOCK"), 1);
    SimProcess sim(f, 1, 1);
    struct Row {
        const char* offset; // FAKETIME: the station clock this far off
        const char* refusal;
    };
    const Row rows[] = {
        {"-3y", "before the issuing CA certificate is valid"},
        {"+12y", "after the issuing CA certificate expired"},
        // After the CA's notBefore, before the order's audit entries of a moment ago.
        {"-2m", "earlier than this station's newest audit entry"},
    };
    for (const Row& row : rows) {
        INFO("clock " << row.offset);
        const qint64 auditBefore = auditEntries(f);
        RunProcess run(f.config, QStringLiteral("PO-CLOCK"), 1, 2, {}, [&](QProcess& p) {
            p.setProcessEnvironment(clockOff(faketime, QLatin1String(row.offset)));
        });
        checkRefusedBeforeDevices(f, run, QStringLiteral("PO-CLOCK"),
                                  {QStringLiteral("the station clock says "),
                                   QLatin1String(row.refusal), QStringLiteral("set the clock")},
                                  auditBefore);
    }
    // The clock had run ahead and was set right: an operator may not explain that, a supervisor
    // records it in the chain, and then the station runs on the earlier clock.
    f.addOperator(QStringLiteral("olga"), db::Role::Operator, QStringLiteral("482913"));
    f.addOperator(QStringLiteral("sam"), db::Role::Supervisor, QStringLiteral("739104"));
    auto setBack = [&](const QString& who, const QString& pin) {
        QProcess p;
        QProcessEnvironment env = clockOff(faketime, QStringLiteral("-2m"));
        env.insert(QStringLiteral("KEYLINE_OPERATOR_PIN"), pin);
        p.setProcessEnvironment(env);
        p.start(test::buildPath("station/keyline"),
                {QStringLiteral("--config"), f.config, QStringLiteral("audit"),
                 QStringLiteral("clock-set-back"), QStringLiteral("--operator"), who});
        REQUIRE(p.waitForFinished(60000));
        INFO(p.readAllStandardOutput().toStdString() << p.readAllStandardError().toStdString());
        return p.exitCode();
    };
    const qint64 beforeSetBack = auditEntries(f);
    CHECK(setBack(QStringLiteral("olga"), QStringLiteral("482913")) == 1);
    CHECK(auditEntries(f) == beforeSetBack);
    CHECK(setBack(QStringLiteral("sam"), QStringLiteral("739104")) == 0);
    CHECK(auditEntries(f) == beforeSetBack + 1);
    // With the clock right, there is nothing to record.
    const test::ScopedEnv pin("KEYLINE_OPERATOR_PIN", "739104");
    CHECK(f.run({QStringLiteral("audit"), QStringLiteral("clock-set-back"),
                 QStringLiteral("--operator"), QStringLiteral("sam")})
              .code == 2);

    RunProcess run(f.config, QStringLiteral("PO-CLOCK"), 1, 2, {}, [&](QProcess& p) {
        p.setProcessEnvironment(clockOff(faketime, QStringLiteral("-1m")));
    });
    run.readUntil({});
    INFO(run.errors().toStdString());
    CHECK(run.process.exitCode() == 0);
    test::checkInvariants(f, QStringLiteral("PO-CLOCK"), 1, {0, /*exactlyOneBurn=*/true});
}
