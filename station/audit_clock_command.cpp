// `keyline audit clock-set-back`: a supervisor's record that the station clock was set back
// behind the newest audit entry on purpose (it had run ahead). Without it a run refuses such a
// clock (run_setup.cpp), because the log's times would go backwards unexplained; with it the
// step back is itself in the signed chain, with who made it and both times, for the auditor.

#include "station/audit_clock_command.h"

#include "db/audit_log.h"
#include "db/timestamp.h"
#include "station/command_util.h"
#include "station/operator_auth.h"
#include "station/station_context.h"

#include <QJsonObject>

namespace keyline::station {

int runClockSetBack(Cli& cli, const QString& operatorName) {
    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    const StationContext station(*config);
    auto database = station.openDatabase();
    if (!database)
        return failWith(cli, database.error());
    db::Database& db = **database;
    auto account = authenticateOperator(station, db, operatorName);
    if (!account)
        return failWith(cli, account.error());
    if (auto allowed = requireRole(*account, {db::Role::Supervisor, db::Role::Engineer},
                                   QStringLiteral("recording a clock set back"));
        !allowed)
        return failWith(cli, allowed.error());
    db::AuditLog log(db, config->stationName);
    auto newest = log.lastEntryTime();
    if (!newest)
        return failWith(cli, newest.error());
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const QDateTime newestTime = db::fromTimestamp(*newest);
    if (newest->isEmpty() || !newestTime.isValid() || now >= newestTime)
        return cli.fail(2, QStringLiteral("the station clock (%1) is not behind the newest audit "
                                          "entry (%2): nothing to record")
                               .arg(db::toTimestamp(now),
                                    newest->isEmpty() ? QStringLiteral("none") : *newest));
    const QJsonObject details{{QStringLiteral("newest_entry_at"), *newest},
                              {QStringLiteral("clock_now"), db::toTimestamp(now)}};
    auto entry = log.append({account->name, {}, QStringLiteral("station.clock-set-back"), details});
    if (!entry)
        return failWith(cli, entry.error());
    cli.out << "recorded station.clock-set-back (seq " << entry->seq << ") by " << account->name
            << ": the clock now says " << db::toTimestamp(now) << ", the newest entry before said "
            << *newest << "\n";
    return 0;
}

} // namespace keyline::station
