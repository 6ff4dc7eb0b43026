#include "station/operator_auth.h"

#include "station/pin_prompt.h"

namespace keyline::station {

Result<QString> operatorPin(const QString& name) {
    const QByteArray fromEnv = qgetenv("KEYLINE_OPERATOR_PIN");
    if (!fromEnv.isEmpty())
        return QString::fromUtf8(fromEnv);
    KL_TRY_ASSIGN(const QByteArray typed,
                  promptSecret(QStringLiteral("PIN for operator '%1': ").arg(name),
                               QStringLiteral("no PIN for operator '%1': set "
                                              "$KEYLINE_OPERATOR_PIN or run on a terminal to be "
                                              "asked")
                                   .arg(name)));
    return QString::fromUtf8(typed);
}

Result<db::OperatorAccount> authenticateOperator(const StationContext& context, db::Database& db,
                                                 const QString& operatorName) {
    db::OperatorRepository operators(db);
    if (!operatorName.isEmpty()) {
        KL_TRY_ASSIGN(const QString pin, operatorPin(operatorName));
        return operators.authenticate(operatorName, pin);
    }
    const QString service = context.config().serviceAccount;
    if (service.isEmpty())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("say who runs this: --operator NAME (PIN from "
                                    "$KEYLINE_OPERATOR_PIN or a prompt), or set [station] "
                                    "service_account in keyline.conf"));
    // The service account is authenticated by the configuration file that names it.
    KL_TRY_ASSIGN(const db::OperatorAccount account, operators.find(service));
    if (!account.active)
        return Error(ErrorCode::Refused,
                     QStringLiteral("the service account '%1' is not active").arg(service));
    return account;
}

Result<void> requireRole(const db::OperatorAccount& account, std::initializer_list<db::Role> roles,
                         const QString& action) {
    QStringList names;
    for (db::Role r : roles) {
        if (account.role == r)
            return success();
        names << db::roleName(r);
    }
    return Error(ErrorCode::Refused, QStringLiteral("%1 needs the role %2; '%3' is %4")
                                         .arg(action, names.join(QStringLiteral(" or ")),
                                              account.name, db::roleName(account.role)));
}

} // namespace keyline::station
