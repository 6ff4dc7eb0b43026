// `keyline doctor`: is this station ready to provision? One line per check, OK or PROBLEM with
// what to do (DESIGN.md §3). Exit 0 when everything is OK, 3 otherwise.
#include "db/outbox_repository.h"
#include "hsm/key_inventory.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/station_context.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSqlQuery>

namespace keyline::station {
namespace {

const char* kDoctorHelp = R"(Usage: keyline doctor [--json]

Checks what a production run needs and says what to do about each problem:
  config     which keyline.conf is used
  hsm        the PKCS#11 token is reachable, the PIN works, every configured key is there
  database   the station database opens and passes its integrity check
  outbox     registrations pending and refused (keyline registry sync sends them now)
  backend    the device registry answers over mutual TLS (GET /v1/whoami) as this station
  trust      the silicon vendor root that chip checks need
  devices    the configured device transports and the ports found

Exit codes: 0 every check is OK, 3 something is not ready (each PROBLEM line says what to do),
2 bad usage.
)";

struct Check {
    QString name;
    bool ok = true;
    QString detail;
};

struct Doctor {
    QList<Check> checks;
    void ok(const QString& name, const QString& detail) { checks.append({name, true, detail}); }
    void problem(const QString& name, const QString& detail) {
        checks.append({name, false, detail});
    }
};

void checkHsm(Doctor& d, StationContext& context, std::unique_ptr<hsm::Pkcs11Hsm>& hsm) {
    const StationConfig& c = context.config();
    auto opened = context.openHsm();
    if (!opened) {
        d.problem(QStringLiteral("hsm"), opened.error().toString());
        return;
    }
    hsm = std::move(*opened);
    auto keys = hsm->listKeys();
    if (!keys) {
        d.problem(QStringLiteral("hsm"), keys.error().toString());
        return;
    }
    QStringList missing;
    QList<hsm::KeyUri> wanted{c.issuingCaKey, c.keystoreSigningKey, c.imageKey, c.auditKey};
    if (!c.backend.url.isEmpty())
        wanted.append(c.backend.clientKey);
    for (const hsm::KeyUri& uri : wanted) {
        bool found = false;
        for (const auto& k : *keys)
            found = found || k.label == uri.object;
        if (!found)
            missing << uri.object;
    }
    if (!missing.isEmpty())
        d.problem(QStringLiteral("hsm"),
                  QStringLiteral("token '%1' lacks %2: run 'keyline hsm init-dev' (development) "
                                 "or the key ceremony (docs/key-inventory.md)")
                      .arg(c.hsmToken, missing.join(QStringLiteral(", "))));
    else
        d.ok(QStringLiteral("hsm"), QStringLiteral("token '%1' reachable, %2 keys, every "
                                                   "configured key present")
                                        .arg(c.hsmToken)
                                        .arg(keys->size()));
}

void checkDatabase(Doctor& d, StationContext& context) {
    auto db = context.openDatabase();
    if (!db) {
        d.problem(QStringLiteral("database"), db.error().toString());
        return;
    }
    auto integrity = (*db)->integrityCheck();
    if (!integrity)
        d.problem(QStringLiteral("database"), integrity.error().toString());
    else if (!integrity->isEmpty())
        d.problem(QStringLiteral("database"),
                  QStringLiteral("%1 fails its integrity check (%2): restore it from a backup")
                      .arg((*db)->description(), integrity->first().left(200)));
    else
        d.ok(QStringLiteral("database"),
             QStringLiteral("%1 opens, integrity ok").arg((*db)->description()));

    auto pending = db::OutboxRepository(**db).pendingCount();
    auto failed = (*db)->exec(QStringLiteral("SELECT COUNT(*) FROM outbox WHERE state = "
                                             "'failed'"));
    if (!pending || !failed) {
        d.problem(QStringLiteral("outbox"), QStringLiteral("cannot read the registration outbox"));
        return;
    }
    const int refused = failed->next() ? failed->value(0).toInt() : 0;
    const QString counts = QStringLiteral("%1 registrations pending, %2 refused by the back-end")
                               .arg(*pending)
                               .arg(refused);
    if (context.config().backend.url.isEmpty())
        d.problem(QStringLiteral("outbox"),
                  counts + QStringLiteral(": registration is disabled ([backend] url is empty), "
                                          "the outbox keeps filling; set [backend] url"));
    else if (refused > 0)
        d.problem(QStringLiteral("outbox"),
                  counts + QStringLiteral(": a person must look at the refused ones (keyline "
                                          "registry sync lists them)"));
    else
        d.ok(QStringLiteral("outbox"), counts);
}

void checkBackend(Doctor& d, StationContext& context, hsm::Pkcs11Hsm* hsm) {
    const StationConfig& c = context.config();
    if (c.backend.url.isEmpty()) {
        d.problem(QStringLiteral("backend"),
                  QStringLiteral("no back-end configured: set [backend] url (and ca_file) in "
                                 "keyline.conf"));
        return;
    }
    if (!hsm) {
        d.problem(QStringLiteral("backend"),
                  QStringLiteral("not checked: the station's TLS key is in the HSM, which is not "
                                 "ready"));
        return;
    }
    auto client = provisioning::openBackendClient(*hsm, context.hsmConfig(), c.backend);
    if (!client) {
        d.problem(QStringLiteral("backend"), client.error().toString());
        return;
    }
    auto who = (*client)->whoami();
    if (!who) {
        d.problem(QStringLiteral("backend"), who.error().toString());
        return;
    }
    const QString role = who->value(QStringLiteral("role")).toString();
    const QString name = who->value(QStringLiteral("name")).toString();
    QStringList customers;
    for (const QJsonValue& v : who->value(QStringLiteral("customers")).toArray())
        customers << v.toString();
    if (role != QLatin1String("station"))
        d.problem(QStringLiteral("backend"),
                  QStringLiteral("%1 sees this station's certificate as '%2', not a station: "
                                 "issue it with OU=station under the CA the back-end trusts")
                      .arg(c.backend.url, role));
    else if (customers.isEmpty())
        d.problem(QStringLiteral("backend"),
                  QStringLiteral("%1 knows station '%2' but it serves no customer: add it to the "
                                 "registry's station ACL")
                      .arg(c.backend.url, name));
    else
        d.ok(QStringLiteral("backend"),
             QStringLiteral("%1 reachable over mutual TLS as station '%2' serving %3")
                 .arg(c.backend.url, name, customers.join(QStringLiteral(", "))));
}

void checkDevices(Doctor& d, StationContext& context) {
    auto chips = context.chipAuthenticator();
    if (!chips)
        d.problem(QStringLiteral("trust"), chips.error().toString());
    else
        d.ok(QStringLiteral("trust"),
             QStringLiteral("silicon vendor root %1").arg(context.config().siliconVendorRoot));
    QStringList problems;
    const auto ports = context.scanPorts(&problems);
    for (const QString& p : problems)
        d.problem(QStringLiteral("devices"), p);
    if (problems.isEmpty())
        d.ok(QStringLiteral("devices"),
             QStringLiteral("transports %1: %2 ports with a device")
                 .arg(context.config().transports.join(QStringLiteral(", ")))
                 .arg(ports.size()));
}

} // namespace

int runDoctorCommand(Cli& cli, const QStringList& args) {
    bool json = false;
    for (const QString& a : args) {
        if (a == QLatin1String("--json")) {
            json = true;
        } else if (a == QLatin1String("-h") || a == QLatin1String("--help")) {
            cli.out << kDoctorHelp;
            return 0;
        } else {
            return cli.fail(2,
                            QStringLiteral("doctor takes only --json, not '%1'").arg(a.left(40)));
        }
    }
    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    StationContext context(*config);
    Doctor d;
    d.ok(QStringLiteral("config"), config->sourceFile.isEmpty()
                                       ? QStringLiteral("no file, embedded defaults")
                                       : config->sourceFile);
    std::unique_ptr<hsm::Pkcs11Hsm> hsm;
    checkHsm(d, context, hsm);
    checkDatabase(d, context);
    checkBackend(d, context, hsm.get());
    checkDevices(d, context);

    bool allOk = true;
    QJsonArray checks;
    for (const Check& c : d.checks) {
        allOk = allOk && c.ok;
        checks.append(QJsonObject{{QStringLiteral("check"), c.name},
                                  {QStringLiteral("ok"), c.ok},
                                  {QStringLiteral("detail"), c.detail}});
        if (!json)
            cli.out << (c.ok ? "OK       " : "PROBLEM  ") << c.name.leftJustified(9) << c.detail
                    << "\n";
    }
    if (json)
        cli.out << QJsonDocument(QJsonObject{{QStringLiteral("ok"), allOk},
                                             {QStringLiteral("checks"), checks}})
                       .toJson(QJsonDocument::Compact)
                << "\n";
    cli.out.flush();
    return allOk ? 0 : 3;
}

} // namespace keyline::station
