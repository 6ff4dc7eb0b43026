#include "provisioning/registration_sync.h"

#include "db/outbox_repository.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QRandomGenerator>
#include <QSqlQuery>
#include <algorithm>
#include <cmath>

namespace keyline::provisioning {

namespace {

constexpr int kFlushLimit = 1000000;

} // namespace

Millis retryDelay(int attempts, const SyncOptions& options, double jitter) {
    if (jitter < 0)
        jitter = 0.75 + 0.5 * QRandomGenerator::global()->generateDouble();
    const double maxMs = double(options.maxDelay.count());
    const double exponential =
        std::min(double(options.baseDelay.count()) * std::pow(2.0, std::min(attempts, 30)), maxMs);
    return Millis(qint64(std::min(exponential * std::clamp(jitter, 0.75, 1.25), maxMs)));
}

RegistrationSync::RegistrationSync(RecordWriter& writer, RegistrationClient& client,
                                   SyncOptions options)
    : m_writer(writer)
    , m_client(client)
    , m_options(options) {}

RegistrationSync::~RegistrationSync() {
    stop();
}

Result<SyncReport> RegistrationSync::flushNow() {
    return deliver(true);
}

Result<SyncReport> RegistrationSync::syncDue() {
    return deliver(false);
}

Result<int> RegistrationSync::pendingCount() {
    return m_writer.call<int>(
        [](db::Database& db) -> Result<int> { return db::OutboxRepository(db).pendingCount(); });
}

Result<int> RegistrationSync::failedCount() {
    return m_writer.call<int>([](db::Database& db) -> Result<int> {
        KL_TRY_ASSIGN(QSqlQuery q, db.exec(QStringLiteral("SELECT COUNT(*) FROM outbox WHERE "
                                                          "state = 'failed'")));
        return q.next() ? q.value(0).toInt() : 0;
    });
}

Result<SyncReport> RegistrationSync::deliver(bool all) {
    std::lock_guard pass(m_deliverMutex);
    const QDateTime now = QDateTime::currentDateTimeUtc();
    // A flush takes every pending entry: "due" at a time far in the future.
    const QDateTime dueBy = all ? now.addYears(1000) : now;
    const int limit = all ? kFlushLimit : m_options.batch;
    KL_TRY_ASSIGN(const std::vector<db::OutboxEntry> entries,
                  m_writer.call<std::vector<db::OutboxEntry>>(
                      [dueBy, limit](db::Database& db) -> Result<std::vector<db::OutboxEntry>> {
                          return db::OutboxRepository(db).due(dueBy, limit);
                      }));
    SyncReport report;
    for (const db::OutboxEntry& entry : entries) {
        if (!all && m_stopping)
            break;
        const qint64 id = entry.id;
        if (entry.kind != QLatin1String("register")) {
            const QString why = QStringLiteral("unknown outbox kind '%1'").arg(entry.kind);
            KL_TRY(m_writer.call<void>([id, why](db::Database& db) -> Result<void> {
                return db::OutboxRepository(db).markFailed(id, why);
            }));
            ++report.failed;
            report.problems << entry.deviceId + QStringLiteral(": ") + why;
            continue;
        }
        const QByteArray body = entry.payload.toUtf8();
        const QString customer =
            QJsonDocument::fromJson(body).object().value(QStringLiteral("customerId")).toString();
        auto outcome = m_client.registerDevice(customer, body);
        if (outcome && outcome->kind != RegistrationOutcome::Kind::Refused) {
            KL_TRY(m_writer.call<void>([id](db::Database& db) -> Result<void> {
                return db::OutboxRepository(db).markDone(id);
            }));
            ++report.sent;
            continue;
        }
        if (outcome) {
            const QString why = outcome->reason;
            KL_TRY(m_writer.call<void>([id, why](db::Database& db) -> Result<void> {
                return db::OutboxRepository(db).markFailed(id, why);
            }));
            ++report.failed;
            report.problems << entry.deviceId + QStringLiteral(": refused: ") + why;
            continue;
        }
        const QString why = outcome.error().toString();
        const QDateTime next =
            QDateTime::currentDateTimeUtc().addMSecs(retryDelay(entry.attempts, m_options).count());
        KL_TRY(m_writer.call<void>([id, why, next](db::Database& db) -> Result<void> {
            return db::OutboxRepository(db).markAttemptFailed(id, why, next);
        }));
        ++report.retrying;
        report.problems << entry.deviceId + QStringLiteral(": ") + why;
        if (isUnreachable(outcome.error())) {
            // The rest would fail the same way (and a timeout each): try them next time.
            report.unreachable = true;
            break;
        }
    }
    KL_TRY_ASSIGN(report.pending, pendingCount());
    KL_TRY_ASSIGN(report.failedTotal, failedCount());
    return report;
}

void RegistrationSync::start() {
    std::lock_guard lock(m_mutex);
    if (m_thread.joinable())
        return;
    m_stopping = false;
    m_thread = std::thread([this] { loop(); });
}

void RegistrationSync::stop(bool finalPass) {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_thread.joinable())
        m_thread.join();
    if (finalPass) {
        m_stopping = false;
        (void)syncDue();
        m_stopping = true;
    }
}

void RegistrationSync::loop() {
    std::unique_lock lock(m_mutex);
    while (!m_stopping) {
        lock.unlock();
        // Errors stay in the outbox rows (last_error); the next pass tries again.
        (void)syncDue();
        lock.lock();
        m_wake.wait_for(lock, m_options.pollInterval, [this] { return m_stopping.load(); });
    }
}

} // namespace keyline::provisioning
