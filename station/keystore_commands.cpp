#include "firmware_image/keystore.h"
#include "hsm/ec_util.h"
#include "hsm/key_inventory.h"
#include "hsm/x509_sign.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/development_keys.h"
#include "station/keystore_report.h"
#include "station/station_context.h"

#include <QDir>
#include <QFileInfo>

namespace keyline::station {
namespace {

using firmware::KeyPurpose;

const char* kKeystoreHelp = R"(Usage: keyline keystore <build|verify> [options]

  build --customer C --env dev|prod --serial N -o FILE
        [--app-key PEM --update-key PEM --backend-key PEM]
        build a customer keystore signed by the vendor keystore signing key in the HSM
        ([hsm] keystore_signing; docs/keystore-format.md).
        dev:  holds the common development keys, read from the HSM (dev token); the
              --*-key options are refused.
        prod: the customer's three public keys (PEM) are required; the common development
              keys are refused (DESIGN §1: never mix environments).
  verify FILE [--vendor-key PEM] [--json]
        offline check: structure, signer key id and signature against the vendor keystore
        signing public key (default <data_dir>/export/keystore-signing.pub.pem), then the
        environment rule when the development public keys are known (<data_dir>/export).
        PASS, or FAIL with the region of the file that is wrong.

Options:
  --customer C      customer ID, 1-64 of A-Z a-z 0-9 . _ -
  --env dev|prod    environment
  --serial N        anti-rollback serial, 1 or more; raise it whenever the keys change
  --app-key PEM     customer application signing public key (P-256)
  --update-key PEM  customer update authorisation public key (P-256)
  --backend-key PEM customer end-to-end back-end public key (P-256, ECDH)
  -o, --output F    where the keystore goes (replaced atomically)
  --vendor-key PEM  the vendor keystore signing public key for verify
  --json            verify: one JSON document on stdout (docs/operator-guide.md)

Exit codes: build 0 written, 1 refused (environment rule), 2 bad usage or bad key file,
3 HSM not ready. verify 0 PASS, 1 FAIL, 2 bad usage or unreadable file, 3 no vendor key.

Examples:
  keyline keystore build --customer acme-42 --env dev --serial 1 -o acme-42-dev.ks
  keyline keystore build --customer acme-42 --env prod --serial 3 --app-key app.pem \
      --update-key update.pem --backend-key backend.pem -o acme-42-prod.ks
  keyline keystore verify acme-42-prod.ks --vendor-key keystore-signing.pub.pem
)";

struct BuildArgs {
    QString customer, env, serial, output;
    QString keyFiles[3]; // application, update, back-end
};

const KeyPurpose kPurposes[3] = {KeyPurpose::ApplicationSigning, KeyPurpose::UpdateAuthorisation,
                                 KeyPurpose::BackendE2e};
const QString kDevLabels[3] = {hsm::labels::devAppSigning, hsm::labels::devUpdateAuth,
                               hsm::labels::devBackendE2e};

int build(Cli& cli, hsm::Hsm& hsm, const hsm::KeyUri& signingKey, const QString& exportDir,
          const firmware::KeystoreContent& base, const QList<QByteArray>& customerKeys,
          const QString& output) {
    firmware::KeystoreContent content = base;
    const bool prod = content.environment == firmware::Environment::Production;
    for (int i = 0; i < 3; ++i) {
        QByteArray point;
        if (prod) {
            point = customerKeys[i];
        } else {
            hsm::KeyUri uri;
            uri.object = kDevLabels[i];
            auto spki = hsm.publicKey(uri);
            if (!spki)
                return failWith(cli, spki.error());
            auto p = firmware::p256PointFromPublicKey(*spki);
            if (!p)
                return failWith(cli, p.error());
            point = *p;
        }
        content.entries.push_back({kPurposes[i], firmware::algorithmFor(kPurposes[i]), point});
    }
    const QList<QByteArray> devKeys = knownDevelopmentKeys(&hsm, exportDir);
    if (devKeys.isEmpty())
        return cli.fail(3, QStringLiteral("cannot apply the environment rule: no common "
                                          "development public keys are known; copy "
                                          "dev-*.pub.pem into %1")
                               .arg(exportDir));
    if (auto rule = firmware::checkEnvironmentKeys(content, devKeys); !rule)
        return failWith(cli, rule.error());
    auto signer = hsm.signer(signingKey);
    if (!signer)
        return failWith(cli, signer.error());
    auto bytes = firmware::buildKeystore(content, **signer);
    if (!bytes)
        return failWith(cli, bytes.error());
    if (auto w = writeOutputFile(output, *bytes); !w)
        return failWith(cli, w.error());
    cli.out << "built " << firmware::environmentName(content.environment) << " keystore for "
            << content.customerId << ", serial " << content.serial << ": " << output << " ("
            << bytes->size() << " bytes)\n"
            << "  signer key id " << hsm::sha256((*signer)->publicKeyDer()).toHex() << " ("
            << signingKey.object << ")\n";
    return 0;
}

int runBuild(Cli& cli, const BuildArgs& a) {
    for (const auto& [value, name] :
         {std::pair{&a.customer, "--customer"}, std::pair{&a.env, "--env"},
          std::pair{&a.serial, "--serial"}, std::pair{&a.output, "-o"}})
        if (value->isEmpty())
            return cli.fail(2,
                            QStringLiteral("keystore build needs %1; see keyline keystore --help")
                                .arg(QLatin1String(name)));
    firmware::KeystoreContent content;
    content.customerId = a.customer;
    auto env = firmware::parseEnvironment(a.env);
    if (!env)
        return failWith(cli, env.error());
    content.environment = *env;
    bool ok = false;
    content.serial = a.serial.toULongLong(&ok);
    if (!ok || content.serial == 0)
        return cli.fail(2, QStringLiteral("--serial must be a whole number, 1 or more"));
    const bool prod = *env == firmware::Environment::Production;
    const char* options[3] = {"--app-key", "--update-key", "--backend-key"};
    QList<QByteArray> customerKeys;
    for (int i = 0; i < 3; ++i) {
        if (!prod && !a.keyFiles[i].isEmpty())
            return cli.fail(2, QStringLiteral("%1: a development keystore holds the common "
                                              "development keys from the HSM; customer keys are "
                                              "for --env prod")
                                   .arg(QLatin1String(options[i])));
        if (!prod)
            continue;
        if (a.keyFiles[i].isEmpty())
            return cli.fail(2, QStringLiteral("a production keystore needs the customer's %1 "
                                              "(PEM public key)")
                                   .arg(QLatin1String(options[i])));
        auto pem = readArgumentFile(a.keyFiles[i], QStringLiteral("public key"), 16 * 1024);
        if (!pem)
            return failWith(cli, pem.error());
        auto point = firmware::p256PointFromPublicKey(*pem);
        if (!point)
            return failWith(cli, point.error().withContext(a.keyFiles[i]));
        if (customerKeys.contains(*point))
            return cli.fail(2, QStringLiteral("%1 is the same key as another purpose: each "
                                              "purpose needs its own key")
                                   .arg(QLatin1String(options[i])));
        customerKeys << *point;
    }
    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    StationContext station(*config);
    auto hsm = station.openHsm();
    if (!hsm)
        return failWith(cli, hsm.error());
    return build(cli, **hsm, config->keystoreSigningKey, station.exportDir(), content, customerKeys,
                 a.output);
}

int runVerify(Cli& cli, const QString& file, QString vendorKeyPath, bool json) {
    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    const StationContext station(*config);
    if (vendorKeyPath.isEmpty()) {
        vendorKeyPath =
            QDir(station.exportDir()).filePath(QStringLiteral("keystore-signing.pub.pem"));
        if (!QFileInfo::exists(vendorKeyPath))
            return cli.fail(3, QStringLiteral("no vendor keystore signing key at %1: pass "
                                              "--vendor-key, or for development run 'keyline "
                                              "hsm init-dev'")
                                   .arg(vendorKeyPath));
    }
    auto vendorKey = readArgumentFile(vendorKeyPath, QStringLiteral("vendor key"), 16 * 1024);
    if (!vendorKey)
        return failWith(cli, vendorKey.error());
    // A file larger than any keystore is a FAIL (region size), and is not read.
    KeystoreReport report;
    const QFileInfo info(file);
    if (info.isFile() && info.size() > firmware::kMaxKeystoreBytes) {
        report = oversizedKeystore(file, info.size());
    } else {
        auto bytes =
            readArgumentFile(file, QStringLiteral("keystore"), firmware::kMaxKeystoreBytes);
        if (!bytes)
            return failWith(cli, bytes.error());
        report = checkKeystore(file, *bytes, *vendorKey,
                               knownDevelopmentKeys(nullptr, station.exportDir()));
    }
    if (report.usageError)
        return failWith(cli, *report.usageError);
    printKeystoreReport(cli, report, json);
    return report.pass() ? 0 : 1;
}

} // namespace

int runKeystoreCommand(Cli& cli, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption json(QStringLiteral("json"), QString());
    const QCommandLineOption customer(QStringLiteral("customer"), QString(), QStringLiteral("C"));
    const QCommandLineOption env(QStringLiteral("env"), QString(), QStringLiteral("E"));
    const QCommandLineOption serial(QStringLiteral("serial"), QString(), QStringLiteral("N"));
    const QCommandLineOption appKey(QStringLiteral("app-key"), QString(), QStringLiteral("PEM"));
    const QCommandLineOption updateKey(QStringLiteral("update-key"), QString(),
                                       QStringLiteral("PEM"));
    const QCommandLineOption backendKey(QStringLiteral("backend-key"), QString(),
                                        QStringLiteral("PEM"));
    const QCommandLineOption output({QStringLiteral("o"), QStringLiteral("output")}, QString(),
                                    QStringLiteral("FILE"));
    const QCommandLineOption vendorKey(QStringLiteral("vendor-key"), QString(),
                                       QStringLiteral("PEM"));
    if (auto done = parseCommandGroup(
            cli, parser,
            {json, customer, env, serial, appKey, updateKey, backendKey, output, vendorKey}, args,
            QStringLiteral("keystore"), kKeystoreHelp))
        return *done;
    const QStringList positional = parser.positionalArguments();
    const QString& sub = positional.first();
    const QString helpCommand = QStringLiteral("keyline keystore");
    if (sub == QLatin1String("build")) {
        if (positional.size() != 1)
            return cli.fail(2, QStringLiteral("keystore build takes no file argument; use -o"));
        if (int rc = rejectForeignOptions(
                cli, parser, QStringLiteral("keystore build"),
                {QStringLiteral("customer"), QStringLiteral("env"), QStringLiteral("serial"),
                 QStringLiteral("app-key"), QStringLiteral("update-key"),
                 QStringLiteral("backend-key"), QStringLiteral("o"), QStringLiteral("output")},
                helpCommand))
            return rc;
        BuildArgs a{parser.value(customer),
                    parser.value(env),
                    parser.value(serial),
                    parser.value(output),
                    {parser.value(appKey), parser.value(updateKey), parser.value(backendKey)}};
        return runBuild(cli, a);
    }
    if (sub == QLatin1String("verify")) {
        if (positional.size() != 2)
            return cli.fail(2, QStringLiteral("keystore verify needs exactly one FILE"));
        if (int rc = rejectForeignOptions(cli, parser, QStringLiteral("keystore verify"),
                                          {QStringLiteral("vendor-key"), QStringLiteral("json")},
                                          helpCommand))
            return rc;
        return runVerify(cli, positional.at(1), parser.value(vendorKey), parser.isSet(json));
    }
    return cli.fail(
        2, QStringLiteral("unknown keystore subcommand \"%1\"; use build or verify").arg(sub));
}

} // namespace keyline::station
