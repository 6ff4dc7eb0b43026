#include "station/order_file.h"

#include "db/order_repository.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <cmath>

namespace keyline::station {

namespace {

const QStringList& orderFields() {
    static const QStringList fields{QStringLiteral("id"),      QStringLiteral("customer"),
                                    QStringLiteral("env"),     QStringLiteral("quantity"),
                                    QStringLiteral("package"), QStringLiteral("keystore")};
    return fields;
}

QString shown(const QString& text) {
    return printableText(text, 40);
}

Error fileError(const QString& problem) {
    return Error(ErrorCode::BadInput, QStringLiteral("order file: %1").arg(problem));
}

struct OrderAt {
    int number = 0; // 1-based
    QString id;     // empty until known

    Error error(const QString& field, const QString& problem) const {
        const QString who = id.isEmpty() ? QStringLiteral("order %1").arg(number)
                                         : QStringLiteral("order %1 (%2)").arg(number).arg(id);
        return Error(ErrorCode::BadInput,
                     QStringLiteral("order file: %1: \"%2\" %3").arg(who, field, problem), number);
    }
};

Result<QString> stringField(const OrderAt& at, const QJsonObject& o, const QString& field) {
    const QJsonValue v = o.value(field);
    if (v.isUndefined())
        return at.error(field, QStringLiteral("is missing"));
    if (!v.isString())
        return at.error(field, QStringLiteral("must be a string"));
    return v.toString();
}

Result<QString> pathField(const OrderAt& at, const QJsonObject& o, const QString& field,
                          const QString& baseDir) {
    KL_TRY_ASSIGN(const QString path, stringField(at, o, field));
    if (path.isEmpty() || path.size() > kMaxOrderPathLength || path.contains(QChar(0)))
        return at.error(
            field,
            QStringLiteral("must be a file path of 1 to %1 characters").arg(kMaxOrderPathLength));
    return QDir::cleanPath(QDir(baseDir).absoluteFilePath(path));
}

Result<OrderSpec> parseOrder(const OrderAt& position, const QJsonValue& value,
                             const QString& baseDir) {
    OrderAt at = position;
    if (!value.isObject())
        return at.error(QStringLiteral("orders"), QStringLiteral("entry must be an object"));
    const QJsonObject o = value.toObject();
    // The id first, so that every later problem names the order by it too.
    OrderSpec spec;
    KL_TRY_ASSIGN(spec.id, stringField(at, o, QStringLiteral("id")));
    if (db::isValidOrderId(spec.id))
        at.id = spec.id;
    for (auto it = o.begin(); it != o.end(); ++it)
        if (!orderFields().contains(it.key()))
            return at.error(shown(it.key()), QStringLiteral("is not a field of an order (%1)")
                                                 .arg(orderFields().join(QStringLiteral(", "))));
    KL_TRY_ASSIGN(spec.customerId, stringField(at, o, QStringLiteral("customer")));
    KL_TRY_ASSIGN(const QString env, stringField(at, o, QStringLiteral("env")));
    auto environment = firmware::parseEnvironment(env);
    if (!environment)
        return at.error(QStringLiteral("env"),
                        QStringLiteral("must be \"dev\" or \"prod\", not '%1'").arg(shown(env)));
    spec.environment = *environment;
    const QJsonValue quantity = o.value(QStringLiteral("quantity"));
    if (quantity.isUndefined())
        return at.error(QStringLiteral("quantity"), QStringLiteral("is missing"));
    if (!quantity.isDouble())
        return at.error(QStringLiteral("quantity"), QStringLiteral("must be a number"));
    const double q = quantity.toDouble();
    if (q != std::floor(q) || q < 1 || q > kMaxOrderQuantity)
        return at.error(QStringLiteral("quantity"),
                        QStringLiteral("must be a whole number from 1 to %1, not %2")
                            .arg(kMaxOrderQuantity)
                            .arg(shown(q == std::floor(q) && std::abs(q) < 1e15
                                           ? QString::number(q, 'f', 0)
                                           : QString::number(q, 'g', 12))));
    spec.quantity = int(q);
    if (auto problem = checkOrderFields(spec))
        return at.error(problem->field, problem->problem);
    KL_TRY_ASSIGN(spec.packagePath, pathField(at, o, QStringLiteral("package"), baseDir));
    KL_TRY_ASSIGN(spec.keystorePath, pathField(at, o, QStringLiteral("keystore"), baseDir));
    return spec;
}

} // namespace

std::optional<FieldProblem> checkOrderFields(const OrderSpec& spec) {
    if (!db::isValidOrderId(spec.id))
        return FieldProblem{QStringLiteral("id"),
                            QStringLiteral("must be 1-32 of A-Z a-z 0-9 . _ - starting with a "
                                           "letter or digit, not '%1'")
                                .arg(shown(spec.id))};
    if (!firmware::isValidCustomerId(spec.customerId))
        return FieldProblem{QStringLiteral("customer"),
                            QStringLiteral("must be 1-64 of A-Z a-z 0-9 . _ -, not '%1'")
                                .arg(shown(spec.customerId))};
    if (spec.quantity < 1 || spec.quantity > kMaxOrderQuantity)
        return FieldProblem{QStringLiteral("quantity"),
                            QStringLiteral("must be a whole number from 1 to %1, not '%2'")
                                .arg(kMaxOrderQuantity)
                                .arg(spec.quantity)};
    return std::nullopt;
}

Result<QList<OrderSpec>> parseOrderFile(const QByteArray& bytes, const QString& baseDir) {
    if (bytes.size() > kMaxOrderFileBytes)
        return fileError(QStringLiteral("%1 bytes, more than the %2 an order file can be")
                             .arg(bytes.size())
                             .arg(kMaxOrderFileBytes));
    QJsonParseError parse;
    const QJsonDocument doc = QJsonDocument::fromJson(bytes, &parse);
    if (parse.error != QJsonParseError::NoError)
        return fileError(
            QStringLiteral("not JSON (%1 at byte %2)").arg(parse.errorString()).arg(parse.offset));
    if (!doc.isObject())
        return fileError(QStringLiteral("not a JSON object with \"format\" and \"orders\""));
    const QJsonObject root = doc.object();
    for (auto it = root.begin(); it != root.end(); ++it)
        if (it.key() != QLatin1String("format") && it.key() != QLatin1String("orders"))
            return fileError(QStringLiteral("\"%1\" is not a field of an order file (format, "
                                            "orders)")
                                 .arg(shown(it.key())));
    const QJsonValue format = root.value(QStringLiteral("format"));
    if (!format.isString() || format.toString() != QLatin1String(kOrderFileFormat))
        return fileError(
            QStringLiteral("\"format\" must be \"%1\", not '%2': not an order file "
                           "this station reads (docs/order-file.md)")
                .arg(QLatin1String(kOrderFileFormat),
                     shown(format.isString() ? format.toString() : QStringLiteral("(missing)"))));
    const QJsonValue ordersValue = root.value(QStringLiteral("orders"));
    if (!ordersValue.isArray())
        return fileError(QStringLiteral("\"orders\" must be a list of orders"));
    const QJsonArray orders = ordersValue.toArray();
    if (orders.isEmpty() || orders.size() > kMaxOrdersPerFile)
        return fileError(QStringLiteral("\"orders\" holds %1 orders; a file holds 1 to %2")
                             .arg(orders.size())
                             .arg(kMaxOrdersPerFile));
    QList<OrderSpec> specs;
    QHash<QString, int> seen; // id -> 1-based position
    for (int i = 0; i < orders.size(); ++i) {
        KL_TRY_ASSIGN(OrderSpec spec, parseOrder(OrderAt{i + 1, {}}, orders.at(i), baseDir));
        if (const int first = seen.value(spec.id); first != 0)
            return OrderAt{i + 1, spec.id}.error(
                QStringLiteral("id"), QStringLiteral("repeats order %1's id").arg(first));
        seen.insert(spec.id, i + 1);
        specs.append(std::move(spec));
    }
    return specs;
}

QByteArray encodeOrderFile(const QList<OrderSpec>& orders) {
    QJsonArray list;
    for (const OrderSpec& o : orders)
        list.append(QJsonObject{{QStringLiteral("id"), o.id},
                                {QStringLiteral("customer"), o.customerId},
                                {QStringLiteral("env"), firmware::environmentName(o.environment)},
                                {QStringLiteral("quantity"), o.quantity},
                                {QStringLiteral("package"), o.packagePath},
                                {QStringLiteral("keystore"), o.keystorePath}});
    return QJsonDocument(QJsonObject{{QStringLiteral("format"), QLatin1String(kOrderFileFormat)},
                                     {QStringLiteral("orders"), list}})
        .toJson();
}

} // namespace keyline::station
