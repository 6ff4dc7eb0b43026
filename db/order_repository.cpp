#include "db/order_repository.h"

#include "db/database.h"
#include "db/db_error.h"
#include "db/timestamp.h"

#include <QRegularExpression>

namespace keyline::db {

QString environmentName(Environment environment) {
    return environment == Environment::Production ? QStringLiteral("prod") : QStringLiteral("dev");
}

Result<Environment> parseEnvironment(const QString& text) {
    if (text == QLatin1String("dev"))
        return Environment::Development;
    if (text == QLatin1String("prod"))
        return Environment::Production;
    return Error(ErrorCode::BadInput,
                 QStringLiteral("environment \"%1\" is neither dev nor prod").arg(text));
}

bool isValidOrderId(const QString& id) {
    static const QRegularExpression pattern(QStringLiteral("^[A-Za-z0-9][A-Za-z0-9._-]{0,31}\\z"));
    return pattern.match(id).hasMatch();
}

bool isSha256Hex(const QString& text) {
    static const QRegularExpression pattern(QStringLiteral("^[0-9a-f]{64}\\z"));
    return pattern.match(text).hasMatch();
}

namespace {

const QString kColumns = QStringLiteral(
    "id, customer_id, environment, quantity, package_path, package_sha256, keystore_sha256, "
    "state, created_by, created_at, closed_at");

template <typename Row>
Result<Order> orderFromRow(const Row& q) {
    Order o;
    o.id = q.value(0).toString();
    o.customerId = q.value(1).toString();
    KL_TRY_ASSIGN(o.environment, parseEnvironment(q.value(2).toString()));
    o.quantity = q.value(3).toInt();
    o.packagePath = q.value(4).toString();
    o.packageSha256 = q.value(5).toString();
    o.keystoreSha256 = q.value(6).toString();
    o.state =
        q.value(7).toString() == QLatin1String("closed") ? OrderState::Closed : OrderState::Open;
    o.createdBy = q.value(8).toString();
    o.createdAt = q.value(9).toString();
    o.closedAt = q.value(10).toString();
    return o;
}

Result<void> checkNewOrder(const NewOrder& o) {
    auto bad = [](const QString& what) {
        return Error(ErrorCode::InvalidArgument, what);
    };
    if (!isValidOrderId(o.id))
        return bad(QStringLiteral("order ID \"%1\" must be 1-32 letters, digits, '.', '_' or "
                                  "'-', starting with a letter or digit")
                       .arg(o.id));
    if (o.customerId.trimmed().isEmpty())
        return bad(QStringLiteral("order %1: customer ID is empty").arg(o.id));
    if (o.quantity < 1 || o.quantity > 99999)
        return bad(QStringLiteral("order %1: quantity %2 is not between 1 and 99999")
                       .arg(o.id)
                       .arg(o.quantity));
    if (o.packagePath.isEmpty())
        return bad(QStringLiteral("order %1: package path is empty").arg(o.id));
    if (!isSha256Hex(o.packageSha256) || !isSha256Hex(o.keystoreSha256))
        return bad(QStringLiteral("order %1: package and keystore hashes must be SHA-256 in "
                                  "lowercase hex")
                       .arg(o.id));
    if (o.createdBy.isEmpty())
        return bad(QStringLiteral("order %1: no operator given").arg(o.id));
    return success();
}

} // namespace

Result<Order> OrderRepository::create(const NewOrder& order) {
    KL_TRY(checkNewOrder(order));
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    KL_TRY_ASSIGN(QSqlQuery existing,
                  m_db.exec(QStringLiteral("SELECT 1 FROM orders WHERE id = ?"), {order.id}));
    if (existing.next())
        return refusal(DbRefusal::AlreadyExists,
                       QStringLiteral("order %1 already exists").arg(order.id));
    Order created;
    static_cast<NewOrder&>(created) = order;
    created.createdAt = timestampNow();
    KL_TRY(m_db.run(QStringLiteral("INSERT INTO orders (") + kColumns +
                        QStringLiteral(") VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, NULL)"),
                    {order.id, order.customerId, environmentName(order.environment), order.quantity,
                     order.packagePath, order.packageSha256, order.keystoreSha256, order.createdBy,
                     created.createdAt}));
    KL_TRY(tx.commit());
    return created;
}

Result<Order> OrderRepository::find(const QString& id) {
    return select(id, QString());
}

Result<Order> OrderRepository::findForUpdate(const QString& id) {
    if (!m_db.inTransaction())
        return Error(ErrorCode::Internal,
                     QStringLiteral("order %1 locked outside a transaction").arg(id));
    return select(id, m_db.dialect().rowLockSuffix());
}

Result<Order> OrderRepository::select(const QString& id, const QString& lockSuffix) {
    KL_TRY_ASSIGN(const std::optional<QSqlRecord> row,
                  m_db.one(QStringLiteral("SELECT ") + kColumns +
                               QStringLiteral(" FROM orders WHERE id = ?") + lockSuffix,
                           {id}));
    if (!row)
        return Error(ErrorCode::NotFound, QStringLiteral("no order %1").arg(id));
    return orderFromRow(*row);
}

Result<std::vector<Order>> OrderRepository::list() {
    KL_TRY_ASSIGN(QSqlQuery q, m_db.exec(QStringLiteral("SELECT ") + kColumns +
                                         QStringLiteral(" FROM orders ORDER BY created_at, id")));
    std::vector<Order> orders;
    while (q.next()) {
        KL_TRY_ASSIGN(Order o, orderFromRow(q));
        orders.push_back(std::move(o));
    }
    return orders;
}

Result<Order> OrderRepository::close(const QString& id) {
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    KL_TRY_ASSIGN(Order order, findForUpdate(id));
    if (order.state == OrderState::Open) {
        order.state = OrderState::Closed;
        order.closedAt = timestampNow();
        KL_TRY(m_db.run(
            QStringLiteral("UPDATE orders SET state = 'closed', closed_at = ? WHERE id = ?"),
            {order.closedAt, id}));
    }
    KL_TRY(tx.commit());
    return order;
}

} // namespace keyline::db
