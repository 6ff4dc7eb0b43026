#include "db/step_result_repository.h"

#include "db/database.h"
#include "db/timestamp.h"

namespace keyline::db {

namespace {

const QString kColumns =
    QStringLiteral("id, device_id, step, attempt, result, detail, recorded_at");

StepResult stepFromRow(const QSqlQuery& q) {
    StepResult r;
    r.id = q.value(0).toLongLong();
    r.deviceId = q.value(1).toString();
    r.step = q.value(2).toString();
    r.attempt = q.value(3).toInt();
    r.outcome =
        q.value(4).toString() == QLatin1String("pass") ? StepOutcome::Pass : StepOutcome::Fail;
    r.detail = q.value(5).toString();
    r.recordedAt = q.value(6).toString();
    return r;
}

} // namespace

Result<StepResult> StepResultRepository::record(const QString& deviceId, const QString& step,
                                                StepOutcome outcome, const QString& detail) {
    if (step.isEmpty())
        return Error(ErrorCode::InvalidArgument, QStringLiteral("step name is empty"));
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    KL_TRY_ASSIGN(const std::optional<QSqlRecord> known,
                  m_db.one(QStringLiteral("SELECT 1 FROM devices WHERE id = ?"), {deviceId}));
    if (!known)
        return Error(ErrorCode::NotFound, QStringLiteral("no device %1").arg(deviceId));
    StepResult r;
    r.deviceId = deviceId;
    r.step = step;
    r.outcome = outcome;
    r.detail = detail;
    r.recordedAt = timestampNow();
    // The next attempt number and the new row's id in one statement (INSERT ... SELECT and
    // RETURNING read the same in SQLite 3.35+ and PostgreSQL).
    KL_TRY_ASSIGN(
        const std::optional<QSqlRecord> row,
        m_db.one(QStringLiteral("INSERT INTO step_results (device_id, step, attempt, result, "
                                "detail, recorded_at) SELECT ?, ?, COALESCE(MAX(attempt), 0) + 1, "
                                "?, ?, ? FROM step_results WHERE device_id = ? AND step = ? "
                                "RETURNING id, attempt"),
                 {deviceId, step,
                  outcome == StepOutcome::Pass ? QStringLiteral("pass") : QStringLiteral("fail"),
                  detail, r.recordedAt, deviceId, step}));
    if (!row)
        return Error(ErrorCode::Internal,
                     QStringLiteral("step result for %1 was not stored").arg(deviceId));
    r.id = row->value(0).toLongLong();
    r.attempt = row->value(1).toInt();
    KL_TRY(tx.commit());
    return r;
}

Result<std::vector<StepResult>> StepResultRepository::forDevice(const QString& deviceId) {
    KL_TRY_ASSIGN(QSqlQuery q,
                  m_db.exec(QStringLiteral("SELECT ") + kColumns +
                                QStringLiteral(" FROM step_results WHERE device_id = ? ORDER "
                                               "BY id"),
                            {deviceId}));
    std::vector<StepResult> results;
    while (q.next())
        results.push_back(stepFromRow(q));
    return results;
}

Result<std::optional<StepResult>> StepResultRepository::latest(const QString& deviceId,
                                                               const QString& step) {
    KL_TRY_ASSIGN(QSqlQuery q,
                  m_db.exec(QStringLiteral("SELECT ") + kColumns +
                                QStringLiteral(" FROM step_results WHERE device_id = ? AND "
                                               "step = ? ORDER BY attempt DESC"),
                            {deviceId, step}));
    if (!q.next())
        return std::optional<StepResult>();
    return std::optional<StepResult>(stepFromRow(q));
}

} // namespace keyline::db
