// `keyline run --order ID`: a headless production run (DESIGN.md §3). Devices are provisioned
// as they appear on the configured ports, up to --slots at once, each step committed before the
// next; the report lists every device with PASS/FAIL and the reason.
#include "hsm/issuing_ca.h"
#include "metrics/run_metrics.h"
#include "provisioning/db_records.h"
#include "provisioning/production_run.h"
#include "provisioning/registration_sync.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/operator_auth.h"
#include "station/order_check.h"
#include "station/run_display.h"
#include "station/run_setup.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <csignal>
#include <thread>

namespace keyline::station {
namespace {

const char* kRunHelp = R"(Usage: keyline run --order ID [--slots N] [--count N] [--json]
                   [--operator NAME] [--idle-timeout S]

Provisions devices for an open order as they are plugged in: chip check, image key burn,
keystore, device key and certificate, flash, secure boot check, factory lock (DESIGN.md §1).
Each step is recorded before the next starts, so a run that is stopped (Ctrl-C, power cut)
continues where it stopped when the devices are plugged in again.

Options:
  --order ID        the order (keyline order create)
  --slots N         devices worked on at once, 1-64 (default 4)
  --count N         stop after N devices finished, PASS or FAIL (default: until the order's
                    quantity is reached)
  --idle-timeout S  stop when no device was plugged in for S seconds (default 0: wait; Ctrl-C
                    stops after the steps under way)
  --json            one JSON object per event, then a report object (docs/operator-guide.md)
  --operator NAME   who runs it (PIN from $KEYLINE_OPERATOR_PIN or a prompt); default the
                    [station] service_account

Exit codes: 0 every device passed, 1 a device failed, 2 bad usage or order, 3 HSM, database or
devices not ready.

Examples:
  keyline run --order PO-1001 --slots 4
  keyline run --order PO-1001 --count 24 --json --operator alice > run.jsonl
)";

std::atomic<bool> g_interrupted{false};

extern "C" void onInterrupt(int) {
    g_interrupted = true;
}

struct RunArgs {
    QString order, operatorName;
    int slots = 4, count = 0, idleSeconds = 0;
    bool json = false;
};

int run(Cli& cli, const RunArgs& a) {
    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    StationContext context(*config);
    db::Order order;
    QString operatorName;
    {
        auto db = context.openDatabase();
        if (!db)
            return failWith(cli, db.error());
        auto found = db::OrderRepository(**db).find(a.order);
        if (!found)
            return failWith(cli, found.error());
        order = *found;
        if (order.state != db::OrderState::Open)
            return cli.fail(1, QStringLiteral("order %1 is closed").arg(order.id));
        auto who = authenticateOperator(context, **db, a.operatorName);
        if (!who)
            return failWith(cli, who.error());
        operatorName = who->name;
    }
    metrics::RunMetrics lineMetrics(config->metrics, config->stationName, order.id);
    auto setup = prepareRun(context, order, operatorName, lineMetrics.line());
    if (!setup)
        return failWith(cli, setup.error());
    hsm::Pkcs11Hsm& hsm = *(*setup)->hsm;
    provisioning::RecordWriter& writer = *(*setup)->writer;
    provisioning::DbRecords& records = *(*setup)->records;
    auto metricsExport = lineMetrics.startExport(records);
    if (!metricsExport)
        return failWith(cli, metricsExport.error());
    // Registrations go out in the background while devices are provisioned ([backend] url).
    std::unique_ptr<provisioning::HttpsRegistrationClient> backend;
    std::unique_ptr<provisioning::RegistrationSync> registrations;
    if (!config->backend.url.isEmpty()) {
        auto client = provisioning::openBackendClient(hsm, context.hsmConfig(), config->backend);
        if (!client)
            return failWith(cli, client.error());
        backend = std::move(*client);
        registrations = std::make_unique<provisioning::RegistrationSync>(writer, *backend);
        registrations->start();
    }

    std::vector<flashing::PortProvider*> providers;
    for (const auto& p : context.portProviders())
        providers.push_back(p.get());
    provisioning::RunOptions options;
    options.slots = a.slots;
    options.count = a.count;
    options.idleTimeout = Millis(qint64(a.idleSeconds) * 1000);
    options.timeouts = context.deviceTimeouts();
    RunDisplay display(cli, a.json);
    if (!a.json)
        cli.out << "run of order " << order.id << " (" << order.customerId << ", "
                << db::environmentName(order.environment) << ") by " << operatorName << ", "
                << a.slots << " slots; plug devices in, Ctrl-C stops after the steps under way\n";
    cli.out.flush();
    if (auto audited = records.audit(
            QStringLiteral("run.started"),
            QJsonObject{{QStringLiteral("slots"), a.slots}, {QStringLiteral("count"), a.count}});
        !audited)
        return failWith(cli, audited.error());

    provisioning::ProductionRun production(
        (*setup)->plan, *(*setup)->services, records, providers, options,
        [&display, &lineMetrics](const provisioning::JobEvent& e) {
            display.onEvent(e);
            lineMetrics.onEvent(e);
        });
    // Ctrl-C and SIGTERM ask the run to stop between steps; a second one is not needed.
    g_interrupted = false;
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    std::atomic<bool> finished{false};
    std::thread watcher([&] {
        while (!finished) {
            if (g_interrupted) {
                production.cancel();
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    });
    auto summary = production.run();
    finished = true;
    watcher.join();
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    if (!summary)
        return failWith(cli, summary.error());
    display.printReport(*summary, order.id);
    if (registrations)
        registrations->stop(true);
    if (*metricsExport)
        (*metricsExport)->stop(); // the file holds the end of the run, after the last sync
    const int pending = records.pendingRegistrations().valueOr(-1);
    if (a.json)
        cli.out << QJsonDocument(
                       QJsonObject{{QStringLiteral("event"), QStringLiteral("registrations")},
                                   {QStringLiteral("pending"), pending},
                                   {QStringLiteral("backend"), config->backend.url}})
                       .toJson(QJsonDocument::Compact)
                << Qt::endl;
    else
        cli.out << "registrations pending: " << pending
                << (backend ? QString() : QStringLiteral(" (no [backend] url: not sent)"))
                << Qt::endl;
    const auto audited = recordRunFinished(records, *summary);
    // The error that stopped the run comes first: recording the end may fail for the same
    // reason (a full disk, a locked database).
    if (summary->stationError)
        return failWith(cli, *summary->stationError);
    if (!audited)
        return failWith(cli, audited.error());
    return summary->failed > 0 ? 1 : 0;
}

bool parseInt(const QString& text, int low, int high, int* out) {
    bool ok = false;
    const int v = text.toInt(&ok);
    if (!ok || v < low || v > high)
        return false;
    *out = v;
    return true;
}

} // namespace

int runRunCommand(Cli& cli, const QStringList& args) {
    QCommandLineParser parser;
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    auto opt = [](const char* name, const char* value) {
        return QCommandLineOption(QLatin1String(name), QString(), QLatin1String(value));
    };
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")}, QString());
    const QCommandLineOption order = opt("order", "ID"), slots = opt("slots", "N"),
                             count = opt("count", "N"), idle = opt("idle-timeout", "S"),
                             operatorName = opt("operator", "NAME"), json(QStringLiteral("json"));
    parser.addOptions({help, order, slots, count, idle, operatorName, json});
    if (!parser.parse(QStringList{QStringLiteral("keyline")} + args))
        return cli.fail(2, parser.errorText() + QStringLiteral(" (keyline run --help)"));
    if (parser.isSet(help)) {
        cli.out << kRunHelp;
        return 0;
    }
    if (!parser.positionalArguments().isEmpty())
        return cli.fail(2, QStringLiteral("run takes options only, not '%1' (keyline run --help)")
                               .arg(parser.positionalArguments().first().left(40)));
    RunArgs a;
    a.order = parser.value(order);
    if (a.order.isEmpty())
        return cli.fail(2, QStringLiteral("name the order: keyline run --order ID"));
    if (parser.isSet(slots) && !parseInt(parser.value(slots), 1, 64, &a.slots))
        return cli.fail(2, QStringLiteral("--slots must be 1 to 64"));
    if (parser.isSet(count) && !parseInt(parser.value(count), 1, 99999, &a.count))
        return cli.fail(2, QStringLiteral("--count must be 1 to 99999"));
    if (parser.isSet(idle) && !parseInt(parser.value(idle), 0, 86400, &a.idleSeconds))
        return cli.fail(2, QStringLiteral("--idle-timeout must be 0 to 86400 seconds"));
    a.operatorName = parser.value(operatorName);
    a.json = parser.isSet(json);
    return run(cli, a);
}

} // namespace keyline::station
