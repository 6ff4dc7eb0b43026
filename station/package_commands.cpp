// `keyline package build|verify|sign-app` (docs/package-format.md, docs/operator-guide.md).

#include "firmware_image/firmware_tree.h"
#include "firmware_image/package.h"
#include "hsm/key_inventory.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/development_keys.h"
#include "station/package_sealer.h"
#include "station/station_context.h"

#include <QDir>
#include <QFileInfo>
#include <QSaveFile>

namespace keyline::station {
namespace {

using firmware::Environment;

const char* kPackageHelp = R"(Usage: keyline package <build|verify|sign-app> [options]

  build --tree DIR --os-version V --app DIR|FILE --keystore K --env dev|prod -o FILE
        [--os-counter N] [--app-version V --counter N]
        build the OS + application package (docs/package-format.md). The OS components of
        the firmware tree are encrypted and authenticated inside the HSM with the image key
        ([hsm] image_key); the keystore must verify with the vendor keystore signing key.
        dev:  --app is an application directory; the station signs it with the common
              development key (keyline-dev-app-signing) and signs the manifest with it too.
        prod: --app is the signed app the customer made (package sign-app, on their side); it
              must verify with the keystore's application signing key and must not be signed
              by a development key.
  verify FILE [--keystore K] [--vendor-key PEM] [--no-hsm]
        check a package: structure, then with --keystore the customer, environment and both
        signatures, the application hash, and through the HSM the OS tag and component
        hashes. PASS, or FAIL naming the region of the file that is wrong.
  sign-app --app DIR --key PEM --customer C --env dev|prod --app-version V --counter N -o FILE
        [--name N] [--hardware H]...
        customer tool: sign an application directory with the customer's own application
        signing key (PEM private key, P-256; never the station's HSM).

Options:
  --tree DIR         firmware tree with manifest.json (firmware_image/tree, README there)
  --os-version V     OS version recorded in the manifest (1-32 printable ASCII)
  --os-counter N     OS security counter (default: security_counter of the tree)
  --app DIR|FILE     application directory (keyline-app.json) or signed app file
  --app-version V    application version (sign-app; build in dev: overrides keyline-app.json)
  --counter N        application anti-rollback counter (as --app-version)
  --keystore K       the customer keystore (keyline keystore build)
  --env dev|prod     environment; must match the keystore
  --key PEM          sign-app: the customer's application signing private key
  --customer C       sign-app: customer ID
  --name N           sign-app: application name (default from keyline-app.json)
  --hardware H       sign-app: compatible hardware revision, repeatable (default from the json)
  --vendor-key PEM   verify: the vendor keystore signing public key
                     (default <data_dir>/export/keystore-signing.pub.pem)
  --no-hsm           verify: do not open the HSM (the OS tag is then not checked)
  -o, --output F     where the file goes (replaced atomically)

Exit codes: 0 done / PASS, 1 refused or FAIL (keystore, environment, signature, any region),
2 bad usage or unreadable input, 3 HSM not ready or no vendor key.

Examples:
  keyline package build --tree firmware_image/tree --os-version 12.5.1 \
      --app firmware_image/tree/app --keystore acme-42-dev.ks --env dev -o acme-42-dev.klpk
  keyline package sign-app --app firmware_image/tree/app --key acme-app.key.pem \
      --customer acme-42 --env prod --app-version 1.0.0 --counter 1 -o acme-app.klsa
  keyline package build --tree firmware_image/tree --os-version 12.5.1 --app acme-app.klsa \
      --keystore acme-42-prod.ks --env prod -o acme-42-prod.klpk
  keyline package verify acme-42-dev.klpk --keystore acme-42-dev.ks
)";

QByteArray appKeyOf(const firmware::KeystoreContent& ks) {
    for (const auto& e : ks.entries)
        if (e.purpose == firmware::KeyPurpose::ApplicationSigning)
            return e.publicKey;
    return {};
}

bool parseCounter(const QString& text, quint64* out) {
    bool ok = false;
    *out = text.toULongLong(&ok);
    return ok;
}

struct Opts {
    QString tree, osVersion, osCounter, app, appVersion, counter, keystore, env, output, key,
        customer, name, vendorKey;
    QStringList hardware;
    bool noHsm = false;
};

// The signed app for the package: made here in dev, the customer's (verified) in prod.
Result<QByteArray> signedAppFor(const Opts& o, hsm::Hsm& hsm, const firmware::Keystore& ks,
                                const QList<QByteArray>& devKeys, std::shared_ptr<Signer>* dev) {
    const Environment env = ks.content.environment;
    if (env == Environment::Development) {
        hsm::KeyUri uri;
        uri.object = hsm::labels::devAppSigning;
        KL_TRY_ASSIGN(*dev, hsm.signer(uri));
    }
    if (QFileInfo(o.app).isDir()) {
        if (env == Environment::Production)
            return Error(ErrorCode::InvalidArgument,
                         QStringLiteral("a production package takes the application the "
                                        "customer signed (keyline package sign-app), not a "
                                        "directory"));
        KL_TRY_ASSIGN(firmware::AppDirectory dir, firmware::readAppDirectory(o.app));
        firmware::AppRelease rel{ks.content.customerId, env,         dir.name,
                                 dir.version,           dir.counter, dir.hardware};
        if (!o.appVersion.isEmpty())
            rel.version = o.appVersion;
        if (!o.counter.isEmpty() && !parseCounter(o.counter, &rel.counter))
            return Error(ErrorCode::InvalidArgument, QStringLiteral("--counter: a whole number"));
        return firmware::buildSignedApp(rel, dir.image, **dev);
    }
    if (!o.appVersion.isEmpty() || !o.counter.isEmpty())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("--app-version and --counter are fixed in a signed app"));
    KL_TRY_ASSIGN(const QByteArray bytes,
                  readArgumentFile(o.app, QStringLiteral("signed app"),
                                   firmware::kMaxApplicationBytes + 64 * 1024));
    auto app = firmware::verifySignedApp(bytes, appKeyOf(ks.content));
    if (!app.ok())
        return Error(ErrorCode::VerificationFailed, app.error().message())
            .withContext(
                QStringLiteral("signed app %1 against the keystore's application key").arg(o.app));
    if (app->manifest.customerId != ks.content.customerId || app->manifest.environment != env)
        return Error(ErrorCode::Refused,
                     QStringLiteral("signed app is for %1 %2, the keystore for %3 %4")
                         .arg(app->manifest.customerId,
                              firmware::environmentName(app->manifest.environment),
                              ks.content.customerId, firmware::environmentName(env)));
    for (const QByteArray& k : devKeys)
        if (env == Environment::Production &&
            firmware::p256PointFromPublicKey(k).valueOr({}) == appKeyOf(ks.content))
            return Error(ErrorCode::Refused, QStringLiteral("production application signed by "
                                                            "a common development key"));
    return bytes;
}

int runBuild(Cli& cli, const Opts& o) {
    for (const auto& [value, name] :
         {std::pair{&o.tree, "--tree"}, std::pair{&o.osVersion, "--os-version"},
          std::pair{&o.app, "--app"}, std::pair{&o.keystore, "--keystore"},
          std::pair{&o.env, "--env"}, std::pair{&o.output, "-o"}})
        if (value->isEmpty())
            return cli.fail(2, QStringLiteral("package build needs %1; see keyline package --help")
                                   .arg(QLatin1String(name)));
    auto env = firmware::parseEnvironment(o.env);
    if (!env)
        return failWith(cli, env.error());
    auto tree = firmware::readFirmwareTree(o.tree);
    if (!tree)
        return failWith(cli, tree.error());
    quint64 osCounter = tree->osCounter;
    if (!o.osCounter.isEmpty() && !parseCounter(o.osCounter, &osCounter))
        return cli.fail(2, QStringLiteral("--os-counter must be a whole number"));
    auto ksBytes =
        readArgumentFile(o.keystore, QStringLiteral("keystore"), firmware::kMaxKeystoreBytes);
    if (!ksBytes)
        return failWith(cli, ksBytes.error());
    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    StationContext station(*config);
    auto hsm = station.openHsm();
    if (!hsm)
        return failWith(cli, hsm.error());
    auto vendorKey = (*hsm)->publicKey(config->keystoreSigningKey);
    if (!vendorKey)
        return failWith(cli, vendorKey.error());
    auto ks = firmware::verifyKeystore(*ksBytes, *vendorKey);
    if (!ks)
        return failWith(cli, ks.error().withContext(o.keystore));
    if (ks->content.environment != *env)
        return cli.fail(1, QStringLiteral("--env %1 with a %2 keystore: environments never mix")
                               .arg(o.env, firmware::environmentName(ks->content.environment)));
    const QList<QByteArray> devKeys = knownDevelopmentKeys(hsm->get(), station.exportDir());
    if (devKeys.isEmpty())
        return cli.fail(3, QStringLiteral("no common development public keys known: copy "
                                          "dev-*.pub.pem into %1")
                               .arg(station.exportDir()));
    if (auto rule = firmware::checkEnvironmentKeys(ks->content, devKeys); !rule)
        return failWith(cli, rule.error());
    std::shared_ptr<Signer> devSigner;
    auto signedApp = signedAppFor(o, **hsm, *ks, devKeys, &devSigner);
    if (!signedApp)
        return failWith(cli, signedApp.error());

    firmware::PackageInput input{o.osVersion, osCounter, tree->osHardware,
                                 std::move(tree->components), *signedApp};
    HsmOsSealer sealer(**hsm, config->imageKey);
    QSaveFile out(o.output);
    if (!out.open(QIODevice::WriteOnly))
        return cli.fail(3, QStringLiteral("cannot write %1: %2").arg(o.output, out.errorString()));
    auto summary = firmware::writePackage(
        input, sealer, *env == Environment::Development ? devSigner.get() : nullptr, out);
    if (!summary)
        return failWith(cli, summary.error());
    if (!out.commit())
        return cli.fail(3, QStringLiteral("cannot write %1: %2").arg(o.output, out.errorString()));
    const auto& m = summary->manifest;
    cli.out << "built " << firmware::environmentName(*env) << " package for " << m.customerId
            << ": " << o.output << " (" << summary->bytes << " bytes)\n"
            << "  OS " << m.osVersion << " (security counter " << m.osCounter << "), "
            << m.components.size() << " components, sealed with " << config->imageKey.object << "\n"
            << "  application " << m.app.name << " " << m.app.version << " (counter "
            << m.app.counter << "), signer key id " << m.app.signerKeyId.toHex().left(16) << "\n"
            << "  measurement " << summary->measurement.toHex() << "\n";
    return 0;
}

int runSignApp(Cli& cli, const Opts& o) {
    for (const auto& [value, name] :
         {std::pair{&o.app, "--app"}, std::pair{&o.key, "--key"},
          std::pair{&o.customer, "--customer"}, std::pair{&o.env, "--env"},
          std::pair{&o.appVersion, "--app-version"}, std::pair{&o.counter, "--counter"},
          std::pair{&o.output, "-o"}})
        if (value->isEmpty())
            return cli.fail(2,
                            QStringLiteral("package sign-app needs %1; see keyline package --help")
                                .arg(QLatin1String(name)));
    auto env = firmware::parseEnvironment(o.env);
    if (!env)
        return failWith(cli, env.error());
    auto dir = firmware::readAppDirectory(o.app);
    if (!dir)
        return failWith(cli, dir.error());
    firmware::AppRelease rel{o.customer, *env, dir->name, o.appVersion, 0, dir->hardware};
    if (!parseCounter(o.counter, &rel.counter))
        return cli.fail(2, QStringLiteral("--counter must be a whole number"));
    if (!o.name.isEmpty())
        rel.name = o.name;
    if (!o.hardware.isEmpty()) {
        rel.hardware = o.hardware;
        std::sort(rel.hardware.begin(), rel.hardware.end());
        rel.hardware.removeDuplicates();
    }
    auto signer = loadPemSigner(o.key);
    if (!signer)
        return failWith(cli, signer.error());
    auto bytes = firmware::buildSignedApp(rel, dir->image, **signer);
    if (!bytes)
        return failWith(cli, bytes.error());
    if (auto w = writeOutputFile(o.output, *bytes); !w)
        return failWith(cli, w.error());
    auto parsed = firmware::parseSignedApp(*bytes);
    cli.out << "signed app " << rel.name << " " << rel.version << " (counter " << rel.counter
            << ") for " << rel.customerId << " " << o.env << ": " << o.output << " ("
            << bytes->size() << " bytes)\n"
            << "  signer key id " << parsed->manifest.signerKeyId.toHex() << "\n";
    return 0;
}

void printVerifyReport(Cli& cli, const QString& file, const firmware::StationVerifyReport& r) {
    if (r.pass())
        cli.out << "PASS  package " << file << "\n";
    else
        cli.out << "FAIL  package " << file << ": region "
                << firmware::regionName(firmware::regionOf(*r.failure)) << ": "
                << r.failure->message() << "\n";
    for (const auto& c : r.checks)
        cli.out << "  " << c.region.leftJustified(19)
                << (c.reason.isEmpty() ? c.result : c.result.leftJustified(12) + c.reason) << "\n";
    if (!r.layout)
        return;
    const auto& m = r.layout->manifest;
    cli.out << "  for                " << m.customerId << " ("
            << firmware::environmentName(m.environment) << ")\n"
            << "  OS                 " << m.osVersion << ", security counter " << m.osCounter
            << ", hardware " << m.osHardware.join(QStringLiteral(", ")) << "\n";
    for (const auto& c : m.components)
        cli.out << "    " << c.name.leftJustified(16) << c.version.leftJustified(16)
                << QString::number(c.size).rightJustified(10)
                << " bytes  sha256:" << c.sha256.toHex().left(16) << "\n";
    cli.out << "  application        " << m.app.name << " " << m.app.version << ", counter "
            << m.app.counter << ", signer key id " << m.app.signerKeyId.toHex().left(16) << "\n";
}

int runVerify(Cli& cli, const QString& file, const Opts& o) {
    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    StationContext station(*config);
    const QFileInfo info(file);
    if (!info.isFile())
        return cli.fail(2, QStringLiteral("package file %1 does not exist").arg(file));
    firmware::StationVerifyOptions options;
    if (!o.keystore.isEmpty()) {
        auto ks =
            readArgumentFile(o.keystore, QStringLiteral("keystore"), firmware::kMaxKeystoreBytes);
        if (!ks)
            return failWith(cli, ks.error());
        options.keystore = *ks;
        QString vendorPath = o.vendorKey;
        if (vendorPath.isEmpty())
            vendorPath =
                QDir(station.exportDir()).filePath(QStringLiteral("keystore-signing.pub.pem"));
        if (o.vendorKey.isEmpty() && !QFileInfo::exists(vendorPath))
            return cli.fail(3, QStringLiteral("no vendor keystore signing key at %1: pass "
                                              "--vendor-key, or for development run 'keyline "
                                              "hsm init-dev'")
                                   .arg(vendorPath));
        auto vendor = readArgumentFile(vendorPath, QStringLiteral("vendor key"), 16 * 1024);
        if (!vendor)
            return failWith(cli, vendor.error());
        options.vendorKey = *vendor;
    }
    std::unique_ptr<hsm::Pkcs11Hsm> hsm;
    std::unique_ptr<HsmOsOpener> opener;
    if (!o.noHsm) {
        if (auto h = station.openHsm(); h.ok()) {
            hsm = std::move(h).value();
            opener = std::make_unique<HsmOsOpener>(*hsm, config->imageKey);
            options.opener = opener.get();
        } else {
            cli.err << "keyline: note: OS tag not checked, HSM not available: "
                    << h.error().message() << "\n";
        }
    }
    options.developmentKeys = knownDevelopmentKeys(hsm.get(), station.exportDir());

    // Mapped, not read: a 512 MiB package is not copied to be checked.
    QFile f(file);
    if (info.size() > firmware::kMaxPackageBytes || info.size() == 0 ||
        !f.open(QIODevice::ReadOnly)) {
        firmware::StationVerifyReport r;
        r.failure = Error(ErrorCode::BadInput,
                          QStringLiteral("package region 'length': %1 bytes, a package is 1 to %2")
                              .arg(info.size())
                              .arg(firmware::kMaxPackageBytes),
                          int(firmware::PackageRegion::Length));
        printVerifyReport(cli, file, r);
        return 1;
    }
    const uchar* data = f.map(0, info.size());
    if (!data)
        return cli.fail(2, QStringLiteral("cannot read %1: %2").arg(file, f.errorString()));
    const auto report = firmware::verifyPackage(
        QByteArrayView(reinterpret_cast<const char*>(data), info.size()), options);
    printVerifyReport(cli, file, report);
    if (report.pass())
        return 0;
    if (firmware::regionOf(*report.failure) == firmware::PackageRegion::None)
        return failWith(cli, *report.failure); // the HSM failed, not the package
    return 1;
}

} // namespace

int runPackageCommand(Cli& cli, const QStringList& args) {
    QCommandLineParser parser;
    auto opt = [](const char* name, const char* value) {
        return QCommandLineOption(QLatin1String(name), QString(), QLatin1String(value));
    };
    const QCommandLineOption tree = opt("tree", "DIR"), osVersion = opt("os-version", "V"),
                             osCounter = opt("os-counter", "N"), app = opt("app", "DIR"),
                             appVersion = opt("app-version", "V"), counter = opt("counter", "N"),
                             keystore = opt("keystore", "K"), env = opt("env", "E"),
                             key = opt("key", "PEM"), customer = opt("customer", "C"),
                             name = opt("name", "N"), hardware = opt("hardware", "H"),
                             vendorKey = opt("vendor-key", "PEM");
    const QCommandLineOption noHsm(QStringLiteral("no-hsm"), QString());
    const QCommandLineOption output({QStringLiteral("o"), QStringLiteral("output")}, QString(),
                                    QStringLiteral("FILE"));
    if (auto done =
            parseCommandGroup(cli, parser,
                              {tree, osVersion, osCounter, app, appVersion, counter, keystore, env,
                               key, customer, name, hardware, vendorKey, noHsm, output},
                              args, QStringLiteral("package"), kPackageHelp))
        return *done;
    const QStringList positional = parser.positionalArguments();
    const QString& sub = positional.first();
    const QString helpCommand = QStringLiteral("keyline package");
    Opts o{parser.value(tree),      parser.value(osVersion),  parser.value(osCounter),
           parser.value(app),       parser.value(appVersion), parser.value(counter),
           parser.value(keystore),  parser.value(env),        parser.value(output),
           parser.value(key),       parser.value(customer),   parser.value(name),
           parser.value(vendorKey), parser.values(hardware),  parser.isSet(noHsm)};
    auto allow = [&](const QString& what, const QStringList& allowed) {
        return rejectForeignOptions(cli, parser, what, allowed, helpCommand);
    };
    const QStringList outputs{QStringLiteral("o"), QStringLiteral("output")};
    if (sub == QLatin1String("build")) {
        if (positional.size() != 1)
            return cli.fail(2, QStringLiteral("package build takes no file argument; use -o"));
        if (int rc = allow(QStringLiteral("package build"),
                           QStringList{QStringLiteral("tree"), QStringLiteral("os-version"),
                                       QStringLiteral("os-counter"), QStringLiteral("app"),
                                       QStringLiteral("app-version"), QStringLiteral("counter"),
                                       QStringLiteral("keystore"), QStringLiteral("env")} +
                               outputs))
            return rc;
        return runBuild(cli, o);
    }
    if (sub == QLatin1String("sign-app")) {
        if (positional.size() != 1)
            return cli.fail(2, QStringLiteral("package sign-app takes no file argument; use -o"));
        if (int rc = allow(QStringLiteral("package sign-app"),
                           QStringList{QStringLiteral("app"), QStringLiteral("key"),
                                       QStringLiteral("customer"), QStringLiteral("env"),
                                       QStringLiteral("app-version"), QStringLiteral("counter"),
                                       QStringLiteral("name"), QStringLiteral("hardware")} +
                               outputs))
            return rc;
        return runSignApp(cli, o);
    }
    if (sub == QLatin1String("verify")) {
        if (positional.size() != 2)
            return cli.fail(2, QStringLiteral("package verify needs exactly one FILE"));
        if (int rc = allow(QStringLiteral("package verify"),
                           {QStringLiteral("keystore"), QStringLiteral("vendor-key"),
                            QStringLiteral("no-hsm")}))
            return rc;
        return runVerify(cli, positional.at(1), o);
    }
    return cli.fail(2, QStringLiteral("unknown package subcommand \"%1\"; use build, verify or "
                                      "sign-app")
                           .arg(sub));
}

} // namespace keyline::station
