// `keyline order create|import|list|show|close`: production orders. Creating an order checks
// that its keystore and package belong to its customer and environment (station/order_check.*)
// and pins copies of both under <data_dir>/orders/<id>, so a run flashes exactly what was
// checked; an import does the same for every order of an ERP's order file (station/order_file.*).
#include "db/audit_log.h"
#include "flashing/flash_writer.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/order_create.h"
#include "station/order_report.h"

#include <QDateTime>
#include <QFileInfo>
#include <QJsonObject>

namespace keyline::station {
namespace {

const char* kOrderHelp = R"(Usage: keyline order <create|import|list|show|close> [options]

  create --customer C --env dev|prod --quantity N --package P --keystore K [--id ID]
         [--operator NAME]
        create a production order. The keystore must verify with the vendor keystore key and
        belong to customer C and environment E; the package must verify against that keystore
        (its OS tag in the HSM); development and production never mix: a production order
        refuses a development keystore, the development CA or a package signed with a
        development key. The station keeps its own copies of both files.
  import FILE [--dry-run] [--operator NAME]
        create every order of an order file from the ERP (JSON, docs/order-file.md):
          {"format": "keyline-order/1", "orders": [{"id": "PO-1001", "customer": "acme-42",
           "env": "dev", "quantity": 24, "package": "acme-42.klpk", "keystore": "acme-42.ks"}]}
        package and keystore paths are relative to the file's folder. Each order gets the
        checks of create; all or nothing: one bad order and none is created, the error names
        it (position and ID) and the field. At most 1 MiB, 1000 orders, quantity 1-99999 each;
        unknown fields and repeated IDs are refused. --dry-run checks and creates nothing.
  list [--json]          every order with its counts
  show ID [--json]       one order and each of its devices (ID, chip, state, reason)
  close ID [--operator NAME]
                         no more devices for this order

Options:
  --customer C      customer ID (1-64 of A-Z a-z 0-9 . _ -)
  --env dev|prod    environment
  --quantity N      devices to provision, 1-99999: the station never issues more certificates
  --package P       OS + application package (keyline package build)
  --keystore K      customer keystore (keyline keystore build)
  --id ID           order ID (default O<date>-<time>); it prefixes every device ID:
                    <ID>-00001, <ID>-00002, ...
  --operator NAME   who does it (PIN from $KEYLINE_OPERATOR_PIN or a prompt); default the
                    [station] service_account. create and close need a supervisor or engineer
  --json            stable JSON (docs/operator-guide.md)
  --dry-run         import: check every order, create none

Exit codes: 0 done, 1 refused (environment mix, role, closed order), 2 bad usage or a file that
does not verify, 3 HSM or database not ready.

Examples:
  keyline order create --customer acme-42 --env dev --quantity 24 \
      --package acme-42.klpk --keystore acme-42.ks --id PO-1001 --operator alice
  keyline order import /srv/erp/orders-2026-11-21.json --dry-run
  keyline order show PO-1001
  keyline order close PO-1001 --operator alice
)";

struct CreateArgs {
    QString customer, env, quantity, package, keystore, id, operatorName;
};

int runCreate(Cli& cli, const CreateArgs& a) {
    if (a.customer.isEmpty() || a.env.isEmpty() || a.quantity.isEmpty() || a.package.isEmpty() ||
        a.keystore.isEmpty())
        return cli.fail(2, QStringLiteral("order create needs --customer, --env, --quantity, "
                                          "--package and --keystore (keyline order --help)"));
    OrderSpec spec;
    bool ok = false;
    spec.quantity = a.quantity.toInt(&ok);
    if (!ok)
        return cli.fail(2, QStringLiteral("--quantity must be a whole number from 1 to %1, "
                                          "not '%2'")
                               .arg(kMaxOrderQuantity)
                               .arg(a.quantity.left(16)));
    auto env = firmware::parseEnvironment(a.env);
    if (!env)
        return failWith(cli, env.error());
    spec.environment = *env;
    spec.customerId = a.customer;
    spec.id = a.id.isEmpty()
                  ? QDateTime::currentDateTimeUtc().toString(QStringLiteral("'O'yyyyMMdd-hhmmss"))
                  : a.id;
    spec.packagePath = a.package;
    spec.keystorePath = a.keystore;
    if (auto problem = checkOrderFields(spec))
        return cli.fail(2, QStringLiteral("--%1 %2").arg(problem->field, problem->problem));
    return createOrders(cli, {spec}, a.operatorName, OrderSource{});
}

int runImport(Cli& cli, const QString& file, bool dryRun, const QString& operatorName) {
    // The size is checked before the file is read: a huge file costs a stat, not memory.
    auto bytes = readArgumentFile(file, QStringLiteral("order"), kMaxOrderFileBytes);
    if (!bytes)
        return failWith(cli, bytes.error());
    auto orders = parseOrderFile(*bytes, QFileInfo(file).absolutePath());
    if (!orders)
        return failWith(cli, orders.error().withContext(file));
    OrderSource source;
    source.orderFile = file;
    source.orderFileSha256 = QString::fromLatin1(flashing::sha256(*bytes).toHex());
    source.dryRun = dryRun;
    return createOrders(cli, *orders, operatorName, source);
}

int runClose(Cli& cli, const QString& id, const QString& operatorName) {
    auto session = openAdminSession(cli, operatorName, QStringLiteral("closing an order"));
    if (!session)
        return failWith(cli, session.error());
    std::unique_ptr<db::Database>* db = &session->db;
    const db::OperatorAccount* who = &session->who;
    const StationConfig* config = &session->config;
    auto closed = [&]() -> Result<db::Order> {
        KL_TRY_ASSIGN(db::Transaction tx, (*db)->begin());
        KL_TRY_ASSIGN(db::Order o, db::OrderRepository(**db).close(id));
        KL_TRY(db::AuditLog(**db, config->stationName)
                   .append({who->name, id, QStringLiteral("order.closed"), QJsonObject{}}));
        KL_TRY(tx.commit());
        return o;
    }();
    if (!closed)
        return failWith(cli, closed.error());
    cli.out << "order " << id << " closed\n";
    return 0;
}

int runListOrShow(Cli& cli, const QString& id, bool json) {
    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    StationContext context(*config);
    auto db = context.openDatabase();
    if (!db)
        return failWith(cli, db.error());
    if (id.isEmpty()) {
        auto report = listOrders(**db);
        if (!report)
            return failWith(cli, report.error());
        printOrderList(cli, *report, json);
        return 0;
    }
    auto report = showOrder(**db, id);
    if (!report)
        return failWith(cli, report.error());
    printOrderDetail(cli, *report, json);
    return 0;
}

} // namespace

int runOrderCommand(Cli& cli, const QStringList& args) {
    QCommandLineParser parser;
    auto opt = [](const char* name, const char* value) {
        return QCommandLineOption(QLatin1String(name), QString(), QLatin1String(value));
    };
    const QCommandLineOption customer = opt("customer", "C"), env = opt("env", "E"),
                             quantity = opt("quantity", "N"), package = opt("package", "P"),
                             keystore = opt("keystore", "K"), id = opt("id", "ID"),
                             operatorName = opt("operator", "NAME"), json(QStringLiteral("json")),
                             dryRun(QStringLiteral("dry-run"));
    if (auto done = parseCommandGroup(
            cli, parser,
            {customer, env, quantity, package, keystore, id, operatorName, json, dryRun}, args,
            QStringLiteral("order"), kOrderHelp))
        return *done;
    const QStringList pos = parser.positionalArguments();
    const QString sub = pos.first();
    if (sub == QLatin1String("create")) {
        if (pos.size() != 1)
            return cli.fail(2, QStringLiteral("order create takes no arguments, only options"));
        if (int bad = rejectForeignOptions(cli, parser, sub,
                                           {QStringLiteral("customer"), QStringLiteral("env"),
                                            QStringLiteral("quantity"), QStringLiteral("package"),
                                            QStringLiteral("keystore"), QStringLiteral("id"),
                                            QStringLiteral("operator")},
                                           QStringLiteral("keyline order")))
            return bad;
        return runCreate(cli, {parser.value(customer), parser.value(env), parser.value(quantity),
                               parser.value(package), parser.value(keystore), parser.value(id),
                               parser.value(operatorName)});
    }
    if (sub == QLatin1String("import")) {
        if (pos.size() != 2)
            return cli.fail(2, QStringLiteral("order import needs one order file"));
        if (int bad = rejectForeignOptions(cli, parser, sub,
                                           {QStringLiteral("dry-run"), QStringLiteral("operator")},
                                           QStringLiteral("keyline order")))
            return bad;
        return runImport(cli, pos.at(1), parser.isSet(dryRun), parser.value(operatorName));
    }
    if (sub == QLatin1String("list") || sub == QLatin1String("show")) {
        const bool show = sub == QLatin1String("show");
        if (pos.size() != (show ? 2 : 1))
            return cli.fail(2, show ? QStringLiteral("order show needs one order ID")
                                    : QStringLiteral("order list takes no arguments"));
        if (int bad = rejectForeignOptions(cli, parser, sub, {QStringLiteral("json")},
                                           QStringLiteral("keyline order")))
            return bad;
        return runListOrShow(cli, show ? pos.at(1) : QString(), parser.isSet(json));
    }
    if (sub == QLatin1String("close")) {
        if (pos.size() != 2)
            return cli.fail(2, QStringLiteral("order close needs one order ID"));
        if (int bad = rejectForeignOptions(cli, parser, sub, {QStringLiteral("operator")},
                                           QStringLiteral("keyline order")))
            return bad;
        return runClose(cli, pos.at(1), parser.value(operatorName));
    }
    return cli.fail(
        2, QStringLiteral("unknown order command '%1' (keyline order --help)").arg(sub.left(40)));
}

} // namespace keyline::station
