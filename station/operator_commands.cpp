// `keyline operator add|list|set-role|disable|enable|passwd`: the station's accounts
// (DESIGN §4: operators authenticate, roles decide, every change is audited with who made it).
// Each change and its audit entry commit in one transaction. PINs come from the environment or
// a terminal prompt and are never printed, logged or audited.

#include "db/audit_log.h"
#include "db/database.h"
#include "db/operator_repository.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/operator_auth.h"
#include "station/operator_pins.h"
#include "station/station_context.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace keyline::station {
namespace {

using db::Role;

const char* kOperatorHelp = R"(Usage: keyline operator <subcommand> [options]

  add NAME --role operator|supervisor|engineer [--as ADMIN]
        create an account. The first account of an empty database is the bootstrap (anyone
        may add it; it must be a supervisor or engineer, so that it can add the others);
        after that a supervisor or engineer adds accounts.
  list [--json]
        the accounts: name, role, active, created, updated (never a PIN or its hash)
  set-role NAME ROLE --as ADMIN
        change an account's role
  disable NAME --as ADMIN / enable NAME --as ADMIN
        an inactive account cannot log in; it stays in the audit log
  passwd NAME
        change your own PIN: the old one, then the new one

Who acts (add, set-role, disable, enable): --as ADMIN, a supervisor or engineer whose PIN
comes from $KEYLINE_OPERATOR_PIN or a prompt; without --as, the configured [station]
service_account. An administrator never grants a role above their own, never changes an
account ranked above them, and never removes the last active supervisor or engineer.

PINs (4-64 characters): the new one from $KEYLINE_NEW_OPERATOR_PIN, else asked twice on the
terminal; the current one (passwd, --as) from $KEYLINE_OPERATOR_PIN, else asked. A PIN is
never printed. Every change is an audit entry (operator.added, operator.role-changed,
operator.disabled, operator.enabled, operator.pin-changed) with who made it.

Exit codes: 0 done, 1 refused (wrong PIN, unknown or inactive account, role not allowed),
2 bad usage (bad name, role or PIN, unknown account), 3 database not ready or no PIN source.

Examples:
  KEYLINE_NEW_OPERATOR_PIN=... keyline operator add alice --role supervisor
  keyline operator add bob --role operator --as alice
  keyline operator set-role bob supervisor --as alice
  keyline operator list --json
)";

int rank(Role role) {
    switch (role) {
    case Role::Operator:
        return 0;
    case Role::Supervisor:
        return 1;
    case Role::Engineer:
        return 2;
    }
    return 0;
}

bool isAdmin(Role role) {
    return role == Role::Supervisor || role == Role::Engineer;
}

// One open station for a command: configuration, database, accounts, audit log.
struct Station {
    StationContext context;
    std::unique_ptr<db::Database> db;

    db::OperatorRepository operators() { return db::OperatorRepository(*db); }
    db::AuditLog audit() { return db::AuditLog(*db, context.config().stationName); }
};

Result<std::unique_ptr<Station>> openStation(const Cli& cli) {
    KL_TRY_ASSIGN(StationConfig config, loadConfig(cli.configPath));
    auto s = std::make_unique<Station>(Station{StationContext(std::move(config)), nullptr});
    KL_TRY_ASSIGN(s->db, s->context.openDatabase());
    return s;
}

// The supervisor or engineer making a change: --as NAME, else the service account.
Result<db::OperatorAccount> authenticateAdmin(Station& s, const QString& asName,
                                              const QString& action) {
    if (asName.isEmpty() && s.context.config().serviceAccount.isEmpty())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("%1 needs a supervisor or engineer: --as NAME (PIN from "
                                    "$KEYLINE_OPERATOR_PIN or a prompt), or set [station] "
                                    "service_account")
                         .arg(action));
    KL_TRY_ASSIGN(const db::OperatorAccount admin, authenticateOperator(s.context, *s.db, asName));
    KL_TRY(requireRole(admin, {Role::Supervisor, Role::Engineer}, action));
    return admin;
}

Result<QString> add(Station& s, const QString& name, Role role, const QString& asName) {
    if (!db::isValidOperatorName(name))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("operator name \"%1\" must be 1-64 letters, digits, '.', "
                                    "'_', '@' or '-'")
                         .arg(name));
    KL_TRY_ASSIGN(const auto existing, s.operators().list());
    const bool bootstrap = existing.empty();
    QString by;
    if (bootstrap) {
        if (!isAdmin(role))
            return Error(ErrorCode::InvalidArgument,
                         QStringLiteral("the first account must be a supervisor or engineer so "
                                        "that it can add the others: use --role supervisor"));
    } else {
        KL_TRY_ASSIGN(const db::OperatorAccount admin,
                      authenticateAdmin(s, asName, QStringLiteral("adding an operator")));
        if (rank(role) > rank(admin.role))
            return Error(ErrorCode::Refused,
                         QStringLiteral("'%1' is %2 and cannot create an "
                                        "account with the role %3")
                             .arg(admin.name, db::roleName(admin.role), db::roleName(role)));
        by = admin.name;
    }
    KL_TRY_ASSIGN(const QString pin, newOperatorPin(name));
    KL_TRY_ASSIGN(db::Transaction tx, s.db->begin());
    // Checked again under the write lock: two bootstraps at once must not both succeed.
    KL_TRY_ASSIGN(const auto now, s.operators().list());
    if (bootstrap && !now.empty())
        return Error(ErrorCode::Refused, QStringLiteral("another account was added meanwhile; "
                                                        "run again with --as ADMIN"));
    KL_TRY(s.operators().create(name, role, pin));
    KL_TRY(s.audit().append({by, QString(), QStringLiteral("operator.added"),
                             QJsonObject{{QStringLiteral("name"), name},
                                         {QStringLiteral("role"), db::roleName(role)},
                                         {QStringLiteral("bootstrap"), bootstrap}}}));
    KL_TRY(tx.commit());
    return QStringLiteral("added %1 %2%3")
        .arg(db::roleName(role), name,
             bootstrap ? QStringLiteral(" (bootstrap: the first account of this station)")
                       : QStringLiteral(" (by %1)").arg(by));
}

// How many active supervisors and engineers remain if `name` loses admin rights.
Result<int> adminsWithout(Station& s, const QString& name) {
    KL_TRY_ASSIGN(const auto all, s.operators().list());
    int n = 0;
    for (const auto& a : all)
        if (a.active && isAdmin(a.role) && a.name != name)
            ++n;
    return n;
}

// set-role, disable and enable: an administrator changing someone else's account.
struct Change {
    QString name;
    std::optional<Role> role;   // set-role
    std::optional<bool> active; // disable / enable
};

Result<QString> change(Station& s, const Change& c, const QString& asName, const QString& action) {
    KL_TRY_ASSIGN(const db::OperatorAccount admin, authenticateAdmin(s, asName, action));
    KL_TRY_ASSIGN(db::Transaction tx, s.db->begin());
    KL_TRY_ASSIGN(const db::OperatorAccount target, s.operators().find(c.name));
    if (rank(target.role) > rank(admin.role) || (c.role && rank(*c.role) > rank(admin.role)))
        return Error(ErrorCode::Refused,
                     QStringLiteral("'%1' is %2: %3 needs an administrator ranked at least as "
                                    "high as the account and the role")
                         .arg(admin.name, db::roleName(admin.role), action));
    const bool losesAdmin = target.active && isAdmin(target.role) &&
                            ((c.role && !isAdmin(*c.role)) || (c.active && !*c.active));
    KL_TRY_ASSIGN(const int remaining, adminsWithout(s, target.name));
    if (losesAdmin && remaining == 0)
        return Error(ErrorCode::Refused,
                     QStringLiteral("%1 is the last active supervisor or engineer; add another "
                                    "first, or nobody could manage the accounts")
                         .arg(target.name));
    QJsonObject details{{QStringLiteral("name"), target.name}};
    QString event, done;
    if (c.role) {
        if (*c.role == target.role)
            return QStringLiteral("%1 is already %2; nothing changed")
                .arg(target.name, db::roleName(target.role));
        KL_TRY(s.operators().setRole(target.name, *c.role));
        details.insert(QStringLiteral("from"), db::roleName(target.role));
        details.insert(QStringLiteral("to"), db::roleName(*c.role));
        event = QStringLiteral("operator.role-changed");
        done = QStringLiteral("%1 is now %2").arg(target.name, db::roleName(*c.role));
    } else {
        const bool active = c.active.value_or(true);
        const QString state = active ? QStringLiteral("enabled") : QStringLiteral("disabled");
        if (target.active == active)
            return QStringLiteral("%1 is already %2; nothing changed").arg(target.name, state);
        KL_TRY(s.operators().setActive(target.name, active));
        event = QStringLiteral("operator.") + state;
        done = QStringLiteral("%1 is %2").arg(target.name, state);
    }
    KL_TRY(s.audit().append({admin.name, QString(), event, details}));
    KL_TRY(tx.commit());
    return done + QStringLiteral(" (by %1)").arg(admin.name);
}

Result<QString> passwd(Station& s, const QString& name) {
    KL_TRY_ASSIGN(const QString oldPin, operatorPin(name));
    KL_TRY_ASSIGN(const db::OperatorAccount self, s.operators().authenticate(name, oldPin));
    KL_TRY_ASSIGN(const QString pin, newOperatorPin(name));
    if (pin == oldPin)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("the new PIN must differ from the current one"));
    KL_TRY_ASSIGN(db::Transaction tx, s.db->begin());
    KL_TRY(s.operators().changePin(self.name, pin));
    KL_TRY(s.audit().append({self.name, QString(), QStringLiteral("operator.pin-changed"),
                             QJsonObject{{QStringLiteral("name"), self.name}}}));
    KL_TRY(tx.commit());
    return QStringLiteral("PIN of %1 changed").arg(self.name);
}

int list(Cli& cli, Station& s, bool json) {
    auto all = s.operators().list();
    if (!all)
        return failWith(cli, all.error());
    if (json) {
        QJsonArray accounts;
        for (const auto& a : *all)
            accounts.append(QJsonObject{{QStringLiteral("name"), a.name},
                                        {QStringLiteral("role"), db::roleName(a.role)},
                                        {QStringLiteral("active"), a.active},
                                        {QStringLiteral("created_at"), a.createdAt},
                                        {QStringLiteral("updated_at"), a.updatedAt}});
        cli.out << QJsonDocument(QJsonObject{{QStringLiteral("operators"), accounts}})
                       .toJson(QJsonDocument::Indented);
        return 0;
    }
    if (all->empty()) {
        cli.out << "no operators yet: add the first with 'keyline operator add NAME --role "
                   "supervisor'\n";
        return 0;
    }
    cli.out << QStringLiteral("%1 %2 %3 %4\n")
                   .arg(QStringLiteral("NAME"), -24)
                   .arg(QStringLiteral("ROLE"), -11)
                   .arg(QStringLiteral("ACTIVE"), -7)
                   .arg(QStringLiteral("UPDATED"));
    for (const auto& a : *all)
        cli.out << QStringLiteral("%1 %2 %3 %4\n")
                       .arg(a.name, -24)
                       .arg(db::roleName(a.role), -11)
                       .arg(a.active ? QStringLiteral("yes") : QStringLiteral("no"), -7)
                       .arg(a.updatedAt);
    return 0;
}

int finish(Cli& cli, const Result<QString>& result) {
    if (!result)
        return failWith(cli, result.error());
    cli.out << *result << "\n";
    return 0;
}

} // namespace

int runOperatorCommand(Cli& cli, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption role(QStringLiteral("role"), QString(), QStringLiteral("ROLE"));
    const QCommandLineOption as(QStringLiteral("as"), QString(), QStringLiteral("ADMIN"));
    const QCommandLineOption json(QStringLiteral("json"), QString());
    if (auto done = parseCommandGroup(cli, parser, {role, as, json}, args,
                                      QStringLiteral("operator"), kOperatorHelp))
        return *done;
    const QStringList pos = parser.positionalArguments();
    const QString& sub = pos.first();
    struct Shape {
        const char* name;
        int arguments; // after the subcommand
        QStringList options;
        const char* usage;
    };
    const Shape shapes[] = {
        {"add", 1, {QStringLiteral("role"), QStringLiteral("as")}, "add NAME --role ROLE"},
        {"list", 0, {QStringLiteral("json")}, "list [--json]"},
        {"set-role", 2, {QStringLiteral("as")}, "set-role NAME ROLE --as ADMIN"},
        {"disable", 1, {QStringLiteral("as")}, "disable NAME --as ADMIN"},
        {"enable", 1, {QStringLiteral("as")}, "enable NAME --as ADMIN"},
        {"passwd", 1, {}, "passwd NAME"},
    };
    const Shape* shape = nullptr;
    for (const Shape& candidate : shapes)
        if (sub == QLatin1String(candidate.name))
            shape = &candidate;
    if (!shape)
        return cli.fail(2, QStringLiteral("unknown operator subcommand \"%1\"; use add, list, "
                                          "set-role, disable, enable or passwd")
                               .arg(sub));
    if (pos.size() != shape->arguments + 1)
        return cli.fail(
            2, QStringLiteral("usage: keyline operator %1").arg(QLatin1String(shape->usage)));
    if (int rc = rejectForeignOptions(cli, parser, QStringLiteral("operator ") + sub,
                                      shape->options, QStringLiteral("keyline operator")))
        return rc;
    std::optional<Role> newRole;
    if (sub == QLatin1String("add") || sub == QLatin1String("set-role")) {
        const QString text = sub == QLatin1String("add") ? parser.value(role) : pos.at(2);
        if (text.isEmpty())
            return cli.fail(2, QStringLiteral("operator add needs --role operator, supervisor "
                                              "or engineer"));
        auto parsed = db::parseRole(text);
        if (!parsed)
            return failWith(cli, parsed.error());
        newRole = *parsed;
    }
    auto station = openStation(cli);
    if (!station)
        return failWith(cli, station.error());
    Station& s = **station;
    const QString asName = parser.value(as);
    if (sub == QLatin1String("list"))
        return list(cli, s, parser.isSet(json));
    if (sub == QLatin1String("add"))
        return finish(cli, add(s, pos.at(1), *newRole, asName));
    if (sub == QLatin1String("passwd"))
        return finish(cli, passwd(s, pos.at(1)));
    if (sub == QLatin1String("set-role"))
        return finish(cli, change(s, {pos.at(1), newRole, std::nullopt}, asName,
                                  QStringLiteral("changing a role")));
    const bool enable = sub == QLatin1String("enable");
    return finish(cli, change(s, {pos.at(1), std::nullopt, enable}, asName,
                              enable ? QStringLiteral("enabling an account")
                                     : QStringLiteral("disabling an account")));
}

} // namespace keyline::station
