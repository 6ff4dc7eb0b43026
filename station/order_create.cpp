#include "station/order_create.h"

#include "db/audit_log.h"
#include "db/order_repository.h"
#include "flashing/flash_writer.h"
#include "station/command_util.h"
#include "station/operator_auth.h"
#include "station/order_check.h"

#include <QDir>
#include <QJsonObject>

namespace keyline::station {

namespace {

// An order that passed every check, its files pinned (unless a dry run).
struct CheckedOrder {
    OrderSpec spec;
    QString packagePath; // the station's own copy
    QString packageSha256;
    QString keystoreSha256;
};

// Removes the order folders made so far when the whole set is not created: an order folder
// without its row is never left behind by a refused import.
struct PinnedFolders {
    QStringList made;
    bool keep = false;
    ~PinnedFolders() {
        if (!keep)
            for (const QString& d : made)
                QDir(d).removeRecursively();
    }
};

// One order read and checked, its files copied under <data_dir>/orders/<id> unless `dryRun`.
// Only one order's package is in memory at a time (a package may be 512 MiB).
Result<CheckedOrder> checkOrder(StationContext& context, hsm::Hsm& hsm, db::Database& db,
                                const OrderSpec& spec, bool dryRun, PinnedFolders& folders) {
    if (auto existing = db::OrderRepository(db).find(spec.id); existing)
        return Error(
            ErrorCode::Refused,
            QStringLiteral("order %1 exists already (keyline order show %1)").arg(spec.id));
    OrderMaterial material;
    material.customerId = spec.customerId;
    material.environment = spec.environment;
    KL_TRY_ASSIGN(material.keystore,
                  readArgumentFile(spec.keystorePath, QStringLiteral("keystore"), 64 * 1024));
    KL_TRY_ASSIGN(material.package, readArgumentFile(spec.packagePath, QStringLiteral("package"),
                                                     firmware::kMaxPackageBytes));
    KL_TRY(checkOrderMaterial(context, hsm, material));

    CheckedOrder c;
    c.spec = spec;
    c.packagePath = orderPackagePath(context, spec.id);
    c.packageSha256 = QString::fromLatin1(flashing::sha256(material.package).toHex());
    c.keystoreSha256 = QString::fromLatin1(flashing::sha256(material.keystore).toHex());
    if (dryRun)
        return c;
    // The order's own copies first: an order row never points at files that are not there.
    const QString dir = context.orderDir(spec.id);
    if (!QDir(dir).exists()) {
        if (!QDir().mkpath(dir))
            return Error(ErrorCode::Io, QStringLiteral("cannot create %1").arg(dir));
        folders.made << dir;
    }
    KL_TRY(writeOutputFile(orderKeystorePath(context, spec.id), material.keystore));
    KL_TRY(writeOutputFile(c.packagePath, material.package));
    return c;
}

Result<void> recordOrders(db::Database& db, const QString& stationName, const QString& who,
                          const QList<CheckedOrder>& orders, const OrderSource& source) {
    KL_TRY_ASSIGN(db::Transaction tx, db.begin());
    for (const CheckedOrder& c : orders) {
        db::NewOrder order;
        order.id = c.spec.id;
        order.customerId = c.spec.customerId;
        order.environment = c.spec.environment == firmware::Environment::Production
                                ? db::Environment::Production
                                : db::Environment::Development;
        order.quantity = c.spec.quantity;
        order.packagePath = c.packagePath;
        order.packageSha256 = c.packageSha256;
        order.keystoreSha256 = c.keystoreSha256;
        order.createdBy = who;
        KL_TRY_ASSIGN(db::Order o, db::OrderRepository(db).create(order));
        QJsonObject details{
            {QStringLiteral("customerId"), o.customerId},
            {QStringLiteral("environment"), firmware::environmentName(c.spec.environment)},
            {QStringLiteral("quantity"), o.quantity},
            {QStringLiteral("packageSha256"), o.packageSha256},
            {QStringLiteral("keystoreSha256"), o.keystoreSha256}};
        if (!source.orderFileSha256.isEmpty())
            details.insert(QStringLiteral("orderFileSha256"), source.orderFileSha256);
        KL_TRY(db::AuditLog(db, stationName)
                   .append({who, o.id, QStringLiteral("order.created"), details}));
    }
    KL_TRY(tx.commit());
    return success();
}

} // namespace

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

int createOrders(Cli& cli, const QList<OrderSpec>& orders, const QString& operatorName,
                 const OrderSource& source) {
    const bool imported = !source.orderFile.isEmpty();
    auto session = openAdminSession(cli, operatorName,
                                    imported ? QStringLiteral("importing orders")
                                             : QStringLiteral("creating an order"));
    if (!session)
        return failWith(cli, session.error());
    StationContext& context = *session->context;
    auto hsm = context.openHsm();
    if (!hsm)
        return failWith(cli, hsm.error());

    PinnedFolders folders;
    QList<CheckedOrder> checked;
    for (int i = 0; i < orders.size(); ++i) {
        auto c = checkOrder(context, **hsm, *session->db, orders.at(i), source.dryRun, folders);
        if (!c) {
            Error e = c.error();
            if (imported)
                e.context(QStringLiteral("order %1 (%2) of %3")
                              .arg(i + 1)
                              .arg(orders.at(i).id, source.orderFile));
            return failWith(cli, e);
        }
        checked.append(std::move(*c));
    }
    if (source.dryRun) {
        for (const CheckedOrder& c : checked)
            cli.out << "order " << c.spec.id << " checked: customer " << c.spec.customerId << ", "
                    << firmware::environmentName(c.spec.environment) << ", " << c.spec.quantity
                    << " devices\n";
        cli.out << "dry run: " << checked.size() << (checked.size() == 1 ? " order" : " orders")
                << " would be created; nothing was created\n";
        return 0;
    }
    if (auto recorded = recordOrders(*session->db, session->config.stationName, session->who.name,
                                     checked, source);
        !recorded)
        return failWith(cli, recorded.error());
    folders.keep = true;
    for (const CheckedOrder& c : checked)
        cli.out << "order " << c.spec.id << " created: customer " << c.spec.customerId << ", "
                << firmware::environmentName(c.spec.environment) << ", " << c.spec.quantity
                << " devices\n"
                << "  package  " << c.packageSha256 << "\n"
                << "  keystore " << c.keystoreSha256 << "\n";
    if (imported)
        cli.out << checked.size() << (checked.size() == 1 ? " order" : " orders")
                << " imported from " << source.orderFile << '\n';
    else
        cli.out << "run it with: keyline run --order " << checked.value(0).spec.id << '\n';
    return 0;
}

} // namespace keyline::station
