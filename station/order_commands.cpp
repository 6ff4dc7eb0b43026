// `keyline order create|list|show|close`: production orders. Creating an order checks that its
// keystore and package belong to its customer and environment (station/order_check.*) and pins
// copies of both under <data_dir>/orders/<id>, so a run flashes exactly what was checked.
#include "db/audit_log.h"
#include "db/certificate_ledger.h"
#include "db/device_repository.h"
#include "flashing/flash_writer.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/operator_auth.h"
#include "station/order_check.h"
#include "station/order_report.h"

#include <QDateTime>
#include <QDir>
#include <QJsonObject>

namespace keyline::station {
namespace {

const char* kOrderHelp = R"(Usage: keyline order <create|list|show|close> [options]

  create --customer C --env dev|prod --quantity N --package P --keystore K [--id ID]
         [--operator NAME]
        create a production order. The keystore must verify with the vendor keystore key and
        belong to customer C and environment E; the package must verify against that keystore
        (its OS tag in the HSM); development and production never mix: a production order
        refuses a development keystore, the development CA or a package signed with a
        development key. The station keeps its own copies of both files.
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

Exit codes: 0 done, 1 refused (environment mix, role, closed order), 2 bad usage or a file that
does not verify, 3 HSM or database not ready.

Examples:
  keyline order create --customer acme-42 --env dev --quantity 24 \
      --package acme-42.klpk --keystore acme-42.ks --id PO-1001 --operator alice
  keyline order show PO-1001
  keyline order close PO-1001 --operator alice
)";

// The station as a supervisor or engineer sees it: configuration, database and who they are.
struct AdminSession {
    StationConfig config;
    std::unique_ptr<StationContext> context;
    std::unique_ptr<db::Database> db;
    db::OperatorAccount who;
};

Result<AdminSession> openAdminSession(Cli& cli, const QString& operatorName,
                                      const QString& action) {
    AdminSession s;
    KL_TRY_ASSIGN(s.config, loadConfig(cli.configPath));
    s.context = std::make_unique<StationContext>(s.config);
    KL_TRY_ASSIGN(s.db, s.context->openDatabase());
    KL_TRY_ASSIGN(s.who, authenticateOperator(*s.context, *s.db, operatorName));
    KL_TRY(requireRole(s.who, {db::Role::Supervisor, db::Role::Engineer}, action));
    return s;
}

struct CreateArgs {
    QString customer, env, quantity, package, keystore, id, operatorName;
};

int runCreate(Cli& cli, const CreateArgs& a) {
    if (a.customer.isEmpty() || a.env.isEmpty() || a.quantity.isEmpty() || a.package.isEmpty() ||
        a.keystore.isEmpty())
        return cli.fail(2, QStringLiteral("order create needs --customer, --env, --quantity, "
                                          "--package and --keystore (keyline order --help)"));
    bool ok = false;
    const int quantity = a.quantity.toInt(&ok);
    if (!ok || quantity < 1 || quantity > 99999)
        return cli.fail(2, QStringLiteral("--quantity must be a whole number from 1 to 99999, "
                                          "not '%1'")
                               .arg(a.quantity.left(16)));
    auto env = firmware::parseEnvironment(a.env);
    if (!env)
        return failWith(cli, env.error());
    const QString id =
        a.id.isEmpty()
            ? QDateTime::currentDateTimeUtc().toString(QStringLiteral("'O'yyyyMMdd-hhmmss"))
            : a.id;
    if (!db::isValidOrderId(id))
        return cli.fail(2, QStringLiteral("--id must be 1-32 of A-Z a-z 0-9 . _ - starting with "
                                          "a letter or digit, not '%1'")
                               .arg(id.left(40)));
    OrderMaterial material;
    material.customerId = a.customer;
    material.environment = *env;
    auto keystore = readArgumentFile(a.keystore, QStringLiteral("keystore"), 64 * 1024);
    if (!keystore)
        return failWith(cli, keystore.error());
    material.keystore = *keystore;
    auto package =
        readArgumentFile(a.package, QStringLiteral("package"), firmware::kMaxPackageBytes);
    if (!package)
        return failWith(cli, package.error());
    material.package = *package;

    auto session = openAdminSession(cli, a.operatorName, QStringLiteral("creating an order"));
    if (!session)
        return failWith(cli, session.error());
    StationContext& context = *session->context;
    std::unique_ptr<db::Database>* db = &session->db;
    const db::OperatorAccount* who = &session->who;
    const StationConfig* config = &session->config;
    if (auto existing = db::OrderRepository(**db).find(id); existing)
        return failWith(
            cli, Error(ErrorCode::Refused,
                       QStringLiteral("order %1 exists already (keyline order show %1)").arg(id)));
    {
        auto hsm = context.openHsm();
        if (!hsm)
            return failWith(cli, hsm.error());
        if (auto checked = checkOrderMaterial(context, **hsm, material); !checked)
            return failWith(cli, checked.error());
    }

    // The order's own copies first: an order row never points at files that are not there.
    const QString packagePath = orderPackagePath(context, id);
    if (!QDir().mkpath(context.orderDir(id)))
        return failWith(cli, Error(ErrorCode::Io,
                                   QStringLiteral("cannot create %1").arg(context.orderDir(id))));
    if (auto written = writeOutputFile(orderKeystorePath(context, id), material.keystore); !written)
        return failWith(cli, written.error());
    if (auto written = writeOutputFile(packagePath, material.package); !written)
        return failWith(cli, written.error());

    db::NewOrder order;
    order.id = id;
    order.customerId = a.customer;
    order.environment = *env == firmware::Environment::Production ? db::Environment::Production
                                                                  : db::Environment::Development;
    order.quantity = quantity;
    order.packagePath = packagePath;
    order.packageSha256 = QString::fromLatin1(flashing::sha256(material.package).toHex());
    order.keystoreSha256 = QString::fromLatin1(flashing::sha256(material.keystore).toHex());
    order.createdBy = who->name;
    auto created = [&]() -> Result<db::Order> {
        KL_TRY_ASSIGN(db::Transaction tx, (*db)->begin());
        KL_TRY_ASSIGN(db::Order o, db::OrderRepository(**db).create(order));
        KL_TRY(db::AuditLog(**db, config->stationName)
                   .append({who->name, id, QStringLiteral("order.created"),
                            QJsonObject{{QStringLiteral("customerId"), o.customerId},
                                        {QStringLiteral("environment"), a.env},
                                        {QStringLiteral("quantity"), o.quantity},
                                        {QStringLiteral("packageSha256"), o.packageSha256},
                                        {QStringLiteral("keystoreSha256"), o.keystoreSha256}}}));
        KL_TRY(tx.commit());
        return o;
    }();
    if (!created)
        return failWith(cli, created.error());
    cli.out << "order " << id << " created: customer " << a.customer << ", " << a.env << ", "
            << quantity << " devices\n"
            << "  package  " << order.packageSha256 << "\n"
            << "  keystore " << order.keystoreSha256 << "\n"
            << "run it with: keyline run --order " << id << '\n';
    return 0;
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
                             operatorName = opt("operator", "NAME"), json(QStringLiteral("json"));
    if (auto done = parseCommandGroup(
            cli, parser, {customer, env, quantity, package, keystore, id, operatorName, json}, args,
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
