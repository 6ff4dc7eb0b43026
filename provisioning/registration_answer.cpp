#include "provisioning/registration_answer.h"

#include <QJsonDocument>
#include <algorithm>

namespace keyline::provisioning {

namespace {

Result<QJsonObject> jsonObject(const HttpAnswer& a, const QString& what) {
    if (!a.contentType.startsWith(QLatin1String("application/json")))
        return Error(ErrorCode::BadInput,
                     QStringLiteral("malformed answer to %1 (HTTP %2): Content-Type is '%3', not "
                                    "application/json")
                         .arg(what)
                         .arg(a.status)
                         .arg(printableText(a.contentType, 60)),
                     a.status);
    if (a.body.isEmpty())
        return Error(
            ErrorCode::BadInput,
            QStringLiteral("malformed answer to %1 (HTTP %2): empty body").arg(what).arg(a.status),
            a.status);
    QJsonParseError parse;
    const QJsonDocument doc = QJsonDocument::fromJson(a.body, &parse);
    if (parse.error != QJsonParseError::NoError)
        return Error(ErrorCode::BadInput,
                     QStringLiteral("malformed or truncated answer to %1 (HTTP %2): JSON %3 at "
                                    "byte %4 of %5")
                         .arg(what)
                         .arg(a.status)
                         .arg(parse.errorString())
                         .arg(parse.offset)
                         .arg(a.body.size()),
                     a.status);
    if (!doc.isObject())
        return Error(ErrorCode::BadInput,
                     QStringLiteral("malformed answer to %1 (HTTP %2): not a JSON object")
                         .arg(what)
                         .arg(a.status),
                     a.status);
    return doc.object();
}

// The API's error body: {"error", "message", "field"?} -> "HTTP 409 conflict: ... (field x)".
Result<QString> refusalReason(const HttpAnswer& a, const QString& what) {
    KL_TRY_ASSIGN(const QJsonObject o, jsonObject(a, what));
    const QJsonValue error = o.value(QStringLiteral("error"));
    if (!error.isString() || error.toString().isEmpty())
        return Error(ErrorCode::BadInput,
                     QStringLiteral("malformed answer to %1 (HTTP %2): no \"error\" string")
                         .arg(what)
                         .arg(a.status),
                     a.status);
    QString reason = QStringLiteral("HTTP %1 %2: %3")
                         .arg(a.status)
                         .arg(printableText(error.toString(), 64),
                              printableText(o.value(QStringLiteral("message")).toString(), 300));
    const QString field = printableText(o.value(QStringLiteral("field")).toString(), 64);
    if (!field.isEmpty())
        reason += QStringLiteral(" (field %1)").arg(field);
    return reason;
}

// A 200 answer's object, which must hold `key` of type `type`. Another status is an error:
// Refused for `refusedStatuses`, else EnvironmentNotReady (try again later).
Result<QJsonObject> objectWith(const HttpAnswer& a, const QString& what, const QString& key,
                               QJsonValue::Type type, std::initializer_list<int> refusedStatuses) {
    if (a.status != 200) {
        const bool refused = std::find(refusedStatuses.begin(), refusedStatuses.end(), a.status) !=
                             refusedStatuses.end();
        return Error(
            refused ? ErrorCode::Refused : ErrorCode::EnvironmentNotReady,
            QStringLiteral("the back-end answered %1 to %2")
                .arg(refusalReason(a, what).valueOr(QStringLiteral("HTTP %1").arg(a.status)), what),
            a.status);
    }
    KL_TRY_ASSIGN(const QJsonObject o, jsonObject(a, what));
    if (o.value(key).type() != type)
        return Error(
            ErrorCode::BadInput,
            QStringLiteral("malformed answer to %1: no \"%2\" %3")
                .arg(what, key,
                     type == QJsonValue::Array ? QStringLiteral("list") : QStringLiteral("string")),
            a.status);
    return o;
}

} // namespace

Result<RegistrationOutcome> registrationOutcome(const HttpAnswer& a, const QString& deviceId,
                                                const QString& what) {
    if (a.status == 201 || a.status == 200) {
        KL_TRY_ASSIGN(const QJsonObject o, jsonObject(a, what));
        if (o.value(QStringLiteral("deviceId")).toString() != deviceId ||
            !o.value(QStringLiteral("state")).isString())
            return Error(ErrorCode::BadInput,
                         QStringLiteral("malformed answer to %1 (HTTP %2): not the device's "
                                        "record")
                             .arg(what)
                             .arg(a.status),
                         a.status);
        RegistrationOutcome done;
        done.kind = a.status == 201 ? RegistrationOutcome::Kind::Registered
                                    : RegistrationOutcome::Kind::AlreadyRegistered;
        done.httpStatus = a.status;
        return done;
    }
    if (a.status == 400 || a.status == 403 || a.status == 409 || a.status == 413 ||
        a.status == 415) {
        RegistrationOutcome refused;
        refused.kind = RegistrationOutcome::Kind::Refused;
        KL_TRY_ASSIGN(refused.reason, refusalReason(a, what));
        refused.httpStatus = a.status;
        return refused;
    }
    const QString reason = refusalReason(a, what).valueOr(QStringLiteral("HTTP %1").arg(a.status));
    return Error(ErrorCode::EnvironmentNotReady,
                 QStringLiteral("the back-end answered %1 to %2; will retry").arg(reason, what),
                 a.status);
}

Result<QJsonObject> whoamiAnswer(const HttpAnswer& a, const QString& what) {
    return objectWith(a, what, QStringLiteral("role"), QJsonValue::String, {});
}

Result<QJsonObject> deviceListAnswer(const HttpAnswer& a, const QString& what) {
    return objectWith(a, what, QStringLiteral("devices"), QJsonValue::Array, {400, 403});
}

} // namespace keyline::provisioning
