// `keyline registry sync|list`: the station's side of the back-end registry
// (docs/backend-api.md, "Station side"): flush the registration outbox now, or list what the
// registry holds for a customer.
#include "db/outbox_repository.h"
#include "provisioning/record_writer.h"
#include "provisioning/registration_sync.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/station_context.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSqlQuery>
#include <atomic>
#include <chrono>
#include <csignal>
#include <optional>
#include <thread>

namespace keyline::station {
namespace {

const char* kRegistryHelp = R"(Usage: keyline registry <sync|list> [options]

The back-end device registry ([backend] in keyline.conf, docs/backend-api.md). Every device's
registration is written to the outbox in the station database together with its certificate;
`keyline run` sends it in the background, retrying with back-off while the back-end is down.

Subcommands:
  sync [--json]     send every pending registration now, once, whatever its back-off; prints
                    sent, failed (refused by the back-end: a person must look) and pending
  sync --follow [--interval S]
                    keep running (the keyline-registry-sync service): a pass like sync every
                    S seconds (default 30, 1-86400); a line for each pass that sent or refused
                    something and when the back-end goes down or comes back; SIGTERM or
                    Ctrl-C stops it (exit 0)
  list --customer C [--state created|bootstrapped] [--json]
                    the devices the registry holds for customer C (the station must serve C)

Exit codes (sync): 0 nothing pending any more, 1 some were refused or answered badly and are
kept or failed, 2 bad usage, 3 the back-end is unreachable or not configured, or the HSM or
database is not ready. With --follow: 0 when stopped by a signal, 2 or 3 as above when it cannot
start (an unreachable back-end is not an error there: it is tried again).

Examples:
  keyline registry sync
  keyline registry sync --follow --interval 60
  keyline registry list --customer acme --state created
)";

struct Backend {
    std::unique_ptr<hsm::Pkcs11Hsm> hsm;
    std::unique_ptr<provisioning::HttpsRegistrationClient> client;
};

Result<Backend> openBackend(StationContext& context) {
    Backend b;
    KL_TRY_ASSIGN(b.hsm, context.openHsm());
    KL_TRY_ASSIGN(b.client, provisioning::openBackendClient(*b.hsm, context.hsmConfig(),
                                                            context.config().backend));
    return b;
}

// Entries the back-end refused for good, with its reason: what a person must look at.
Result<std::vector<db::OutboxEntry>> failedEntries(provisioning::RecordWriter& writer) {
    return writer.call<std::vector<db::OutboxEntry>>(
        [](db::Database& db) -> Result<std::vector<db::OutboxEntry>> {
            KL_TRY_ASSIGN(QSqlQuery q, db.exec(QStringLiteral("SELECT device_id, attempts, "
                                                              "last_error FROM outbox WHERE "
                                                              "state = 'failed' ORDER BY id")));
            std::vector<db::OutboxEntry> out;
            while (q.next()) {
                db::OutboxEntry e;
                e.deviceId = q.value(0).toString();
                e.attempts = q.value(1).toInt();
                e.lastError = q.value(2).toString();
                e.state = db::OutboxState::Failed;
                out.push_back(e);
            }
            return out;
        });
}

std::atomic<bool> g_stopFollowing{false};

extern "C" void onStopFollowing(int) {
    g_stopFollowing = true;
}

// `registry sync --follow`: a pass with everything pending every `interval` (the interval is the
// back-off), until SIGTERM or SIGINT. Only what changed is printed, so a quiet outbox
// leaves a quiet journal.
int follow(Cli& cli, provisioning::RegistrationSync& registrations, std::chrono::seconds interval,
           bool json) {
    g_stopFollowing = false;
    std::signal(SIGINT, onStopFollowing);
    std::signal(SIGTERM, onStopFollowing);
    bool wasUnreachable = false;
    while (!g_stopFollowing) {
        auto pass = registrations.flushNow();
        if (!pass) {
            std::signal(SIGINT, SIG_DFL);
            std::signal(SIGTERM, SIG_DFL);
            return failWith(cli, pass.error());
        }
        const bool changed =
            pass->sent > 0 || pass->failed > 0 || pass->unreachable != wasUnreachable;
        wasUnreachable = pass->unreachable;
        if (changed && json) {
            const QJsonObject o{{QStringLiteral("sent"), pass->sent},
                                {QStringLiteral("failed"), pass->failed},
                                {QStringLiteral("pending"), pass->pending},
                                {QStringLiteral("unreachable"), pass->unreachable}};
            cli.out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
        } else if (changed) {
            cli.out << "sent " << pass->sent << ", failed " << pass->failed << ", pending "
                    << pass->pending << "\n";
            if (pass->unreachable)
                cli.out << "the back-end is unreachable: trying again in " << interval.count()
                        << " s\n";
            for (const QString& p : pass->problems)
                cli.out << "  " << p << "\n";
        }
        cli.out.flush();
        const auto until = std::chrono::steady_clock::now() + interval;
        while (!g_stopFollowing && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (!json)
        cli.out << "stopped\n";
    cli.out.flush();
    return 0;
}

int sync(Cli& cli, bool json, std::optional<std::chrono::seconds> followInterval) {
    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    StationContext context(*config);
    auto options = context.databaseOptions();
    if (!options)
        return failWith(cli, options.error());
    auto writer = provisioning::RecordWriter::start(*options);
    if (!writer)
        return failWith(cli, writer.error());
    provisioning::SyncReport report;
    if (followInterval && config->backend.url.isEmpty())
        return cli.fail(3, QStringLiteral("--follow needs a back-end: set [backend] url in %1")
                               .arg(config->sourceFile.isEmpty() ? QStringLiteral("keyline.conf")
                                                                 : config->sourceFile));
    if (config->backend.url.isEmpty()) {
        auto pending = (*writer)->call<int>([](db::Database& db) -> Result<int> {
            return db::OutboxRepository(db).pendingCount();
        });
        if (!pending)
            return failWith(cli, pending.error());
        if (*pending > 0)
            return cli.fail(3,
                            QStringLiteral("%1 registrations pending but no back-end is "
                                           "configured: set [backend] url in %2")
                                .arg(*pending)
                                .arg(config->sourceFile.isEmpty() ? QStringLiteral("keyline.conf")
                                                                  : config->sourceFile));
    } else {
        auto backend = openBackend(context);
        if (!backend)
            return failWith(cli, backend.error());
        provisioning::RegistrationSync registrations(**writer, *backend->client);
        if (followInterval)
            return follow(cli, registrations, *followInterval, json);
        auto flushed = registrations.flushNow();
        if (!flushed)
            return failWith(cli, flushed.error());
        report = *flushed;
    }
    auto failed = failedEntries(**writer);
    if (!failed)
        return failWith(cli, failed.error());
    if (json) {
        QJsonArray refused;
        for (const auto& e : *failed)
            refused.append(QJsonObject{{QStringLiteral("deviceId"), e.deviceId},
                                       {QStringLiteral("lastError"), e.lastError}});
        const QJsonObject o{
            {QStringLiteral("sent"), report.sent},
            {QStringLiteral("failed"), report.failed},
            {QStringLiteral("retrying"), report.retrying},
            {QStringLiteral("pending"), report.pending},
            {QStringLiteral("failedTotal"), int(failed->size())},
            {QStringLiteral("unreachable"), report.unreachable},
            {QStringLiteral("problems"), QJsonArray::fromStringList(report.problems)},
            {QStringLiteral("refused"), refused}};
        cli.out << QJsonDocument(o).toJson(QJsonDocument::Compact) << "\n";
    } else {
        for (const QString& p : report.problems)
            cli.out << "  " << p << "\n";
        cli.out << "sent " << report.sent << ", failed " << report.failed << ", pending "
                << report.pending << "\n";
        if (report.unreachable)
            cli.out << "the back-end is unreachable: the rest stays pending\n";
        if (!failed->empty()) {
            cli.out << failed->size()
                    << " registrations were refused by the back-end and need a person:\n";
            for (const auto& e : *failed)
                cli.out << "  " << e.deviceId << ": " << e.lastError << "\n";
        }
    }
    cli.out.flush();
    if (report.unreachable)
        return 3;
    return report.failed > 0 || report.pending > 0 ? 1 : 0;
}

int list(Cli& cli, const QString& customer, const QString& state, bool json) {
    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    if (config->backend.url.isEmpty())
        return cli.fail(3, QStringLiteral("no back-end configured: set [backend] url"));
    StationContext context(*config);
    auto backend = openBackend(context);
    if (!backend)
        return failWith(cli, backend.error());
    auto answer = backend->client->listDevices(customer, state);
    if (!answer)
        return failWith(cli, answer.error());
    if (json) {
        cli.out << QJsonDocument(*answer).toJson(QJsonDocument::Compact) << "\n";
        return 0;
    }
    const QJsonArray devices = answer->value(QStringLiteral("devices")).toArray();
    cli.out << devices.size() << " devices of " << customer << " in the registry\n";
    for (const QJsonValue& v : devices) {
        const QJsonObject d = v.toObject();
        cli.out << "  " << d.value(QStringLiteral("deviceId")).toString() << "  "
                << d.value(QStringLiteral("state")).toString() << "  "
                << d.value(QStringLiteral("environment")).toString() << "  registered by "
                << d.value(QStringLiteral("registeredBy")).toString() << "\n";
    }
    return 0;
}

} // namespace

int runRegistryCommand(Cli& cli, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption json(QStringLiteral("json"), QString());
    const QCommandLineOption customer(QStringLiteral("customer"), QString(), QStringLiteral("C"));
    const QCommandLineOption state(QStringLiteral("state"), QString(), QStringLiteral("S"));
    const QCommandLineOption followOption(QStringLiteral("follow"), QString());
    const QCommandLineOption interval(QStringLiteral("interval"), QString(), QStringLiteral("S"));
    if (auto done = parseCommandGroup(cli, parser, {json, customer, state, followOption, interval},
                                      args, QStringLiteral("registry"), kRegistryHelp))
        return *done;
    const QStringList positional = parser.positionalArguments();
    const QString& sub = positional.first();
    if (positional.size() != 1)
        return cli.fail(2, QStringLiteral("registry %1 takes no further arguments").arg(sub));
    const QString helpCommand = QStringLiteral("keyline registry");
    if (sub == QLatin1String("sync")) {
        if (int code = rejectForeignOptions(
                cli, parser, sub,
                {QStringLiteral("json"), QStringLiteral("follow"), QStringLiteral("interval")},
                helpCommand))
            return code;
        std::optional<std::chrono::seconds> followInterval;
        if (parser.isSet(interval) && !parser.isSet(followOption))
            return cli.fail(2, QStringLiteral("--interval goes with --follow"));
        if (parser.isSet(followOption)) {
            bool ok = true;
            const int seconds = parser.isSet(interval) ? parser.value(interval).toInt(&ok) : 30;
            if (!ok || seconds < 1 || seconds > 86400)
                return cli.fail(2, QStringLiteral("--interval must be 1 to 86400 seconds"));
            followInterval = std::chrono::seconds(seconds);
        }
        return sync(cli, parser.isSet(json), followInterval);
    }
    if (sub == QLatin1String("list")) {
        if (int code = rejectForeignOptions(
                cli, parser, sub,
                {QStringLiteral("json"), QStringLiteral("customer"), QStringLiteral("state")},
                helpCommand))
            return code;
        if (!parser.isSet(customer))
            return cli.fail(2, QStringLiteral("name the customer: keyline registry list "
                                              "--customer C"));
        const QString s = parser.value(state);
        if (!s.isEmpty() && s != QLatin1String("created") && s != QLatin1String("bootstrapped"))
            return cli.fail(2, QStringLiteral("--state is created or bootstrapped"));
        return list(cli, parser.value(customer), s, parser.isSet(json));
    }
    return cli.fail(2, QStringLiteral("unknown registry subcommand \"%1\" (keyline registry "
                                      "--help)")
                           .arg(sub));
}

} // namespace keyline::station
