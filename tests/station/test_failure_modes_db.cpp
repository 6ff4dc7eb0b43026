// Failure modes (docs/failure-modes.md): the station's database stops taking writes mid-run
// (the disk full, another process holding its write lock). The run stops with a clear error
// naming the database and exit 3; nothing recorded before is lost (integrity check, audit
// chain, the devices already provisioned); once the database takes writes again the run
// finishes. A short lock is waited out.
#include "failure_modes.h"

#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QThread>
#include <csignal>
#include <sys/resource.h>

using namespace keyline;
using keyline::test::LineFixture;
using keyline::test::RunProcess;
using keyline::test::SimProcess;

namespace {

// Devices of the order the database holds as provisioned.
QStringList provisionedDevices(const LineFixture& f, const QString& order) {
    auto db = f.openDatabase();
    auto devices = db::DeviceRepository(*db).listForOrder(order);
    REQUIRE(devices.ok());
    QStringList ids;
    for (const db::Device& d : *devices)
        if (d.state == db::DeviceState::Provisioned)
            ids << d.id;
    return ids;
}

// Another process's hold on the station's SQLite database: BEGIN IMMEDIATE takes the one write
// lock of a WAL database, as a backup tool or an sqlite3 shell in a transaction would.
class WriteLock {
public:
    explicit WriteLock(const QString& path)
        : m_name(QStringLiteral("failure-modes-lock")) {
        QSqlDatabase db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), m_name);
        db.setDatabaseName(path);
        REQUIRE(db.open());
        QSqlQuery q(db);
        INFO(q.lastError().text().toStdString());
        REQUIRE(q.exec(QStringLiteral("BEGIN IMMEDIATE")));
    }
    void release() {
        if (m_released)
            return;
        m_released = true;
        {
            QSqlDatabase db = QSqlDatabase::database(m_name);
            QSqlQuery(db).exec(QStringLiteral("ROLLBACK"));
            db.close();
        }
        QSqlDatabase::removeDatabase(m_name);
    }
    ~WriteLock() { release(); }

private:
    QString m_name;
    bool m_released = false;
};

} // namespace

TEST_CASE("a full disk under the database stops the run with the database named and loses "
          "nothing",
          "[station][run][faults][failure-modes][db]") {
    // A disk that fills while the station writes, unprivileged: RLIMIT_FSIZE on the station
    // process makes every write past the limit fail with EFBIG (SIGXFSZ ignored, as a file
    // system that is full fails with ENOSPC), which SQLite reports as a failed write.
    LineFixture f;
    const int quantity = 6;
    test::makeOrder(f, QStringLiteral("PO-FULL"), quantity);
    SimProcess sim(f, quantity, 1);
    // Above the database file's size, so a checkpoint may write it; the WAL then holds about
    // 200 KiB of records per device (synchronous=FULL, a commit per step), so the fourth
    // device of six finds the disk full.
    const rlim_t limit = rlim_t(QFileInfo(f.databasePath).size()) + 768 * 1024;
    QStringList provisionedBefore;
    {
        RunProcess run(f.config, QStringLiteral("PO-FULL"), 1, 2, {}, [limit](QProcess& p) {
            p.setChildProcessModifier([limit] {
                const rlimit r{limit, limit};
                ::setrlimit(RLIMIT_FSIZE, &r);
                ::signal(SIGXFSZ, SIG_IGN);
            });
        });
        run.readUntil({}, 120000);
        test::checkStoppedForEnvironment(run, QStringLiteral("database sqlite:") + f.databasePath,
                                         QString());
        const int passed = run.report().value(QStringLiteral("passed")).toInt();
        INFO("passed before the disk filled: " << passed);
        CHECK(passed >= 1);
        CHECK(passed < quantity);
        provisionedBefore = provisionedDevices(f, QStringLiteral("PO-FULL"));
        CHECK(provisionedBefore.size() == passed);
    }
    test::checkRecordsSound(f);
    // Space is back: the run finishes, and what was provisioned stays provisioned.
    RunProcess again(f, QStringLiteral("PO-FULL"), 2, 2);
    again.readUntil({}, 120000);
    INFO(QJsonDocument(again.report()).toJson().toStdString() << again.errors().toStdString());
    CHECK(again.process.exitCode() == 0);
    const QStringList provisionedAfter = provisionedDevices(f, QStringLiteral("PO-FULL"));
    for (const QString& id : provisionedBefore)
        CHECK(provisionedAfter.contains(id));
    test::checkInvariants(f, QStringLiteral("PO-FULL"), quantity);
}

TEST_CASE("a database locked by another process longer than the busy timeout stops the run and "
          "a short lock is waited out",
          "[station][run][faults][failure-modes][db]") {
    LineFixture f;
    test::makeOrder(f, QStringLiteral("PO-LOCK"), 4);
    // The 800 ms the device takes for its ephemeral key is the time the test has to take the lock
    // between the chip check and the otp-key record.
    SimProcess sim(f, 4, 1, test::slowKeygenSim(800));

    const QString named = QStringLiteral("database sqlite:") + f.databasePath;
    {
        // Held past the busy timeout (5 s): the device's next record fails, the run stops.
        RunProcess run(f, QStringLiteral("PO-LOCK"), 1, 2);
        REQUIRE(run.readUntil(test::stepDone(QStringLiteral("chip-check"))));
        WriteLock lock(f.databasePath);
        run.readUntil({}, 90000); // the lock stays until the run has given up
        lock.release();
        const QJsonObject failed =
            test::checkStoppedForEnvironment(run, named, QStringLiteral("otp-key"));
        CHECK(failed.value(QStringLiteral("reason"))
                  .toString()
                  .contains(QStringLiteral("another process holds it locked")));
    }
    test::checkRecordsSound(f);
    {
        // Held for a second: waited out, the run finishes the order.
        RunProcess run(f, QStringLiteral("PO-LOCK"), 1, 2);
        REQUIRE(run.readUntil(test::stepDone(QStringLiteral("chip-check"))));
        {
            WriteLock lock(f.databasePath);
            QThread::msleep(1000);
        }
        run.readUntil({}, 60000);
        INFO(QJsonDocument(run.report()).toJson().toStdString() << run.errors().toStdString());
        CHECK(run.process.exitCode() == 0);
        CHECK(run.report().value(QStringLiteral("passed")).toInt() == 4);
    }
    test::checkInvariants(f, QStringLiteral("PO-LOCK"), 4);
}
