#include "hsm/ceremony.h"
#include "hsm/dev_token.h"
#include "hsm/key_inventory.h"
#include "hsm/x509_sign.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/hsm_ceremony_commands.h"
#include "station/station_context.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace keyline::station {
namespace {

const char* kHsmHelp = R"(Usage: keyline hsm <init-dev|keys|ceremony> [options]

  init-dev        development only: create (or complete) the SoftHSM2 token [hsm] token under
                  <data_dir>/softhsm with the whole development key and CA set, and export the
                  public parts to <data_dir>/export. Idempotent: what exists is kept.
  keys [--json]   every key on the token: label, type, purpose, sensitive, extractable,
                  certificate. Exit 1 if a key breaks the key policy (docs/key-inventory.md).
  ceremony generate --key K [--subject S] -o CSR [--public-key-out PEM] [--existing]
                  production key ceremony: generate key K inside the HSM (P-256, sensitive,
                  non-extractable) and write its CSR, signed by the HSM key, for the offline root.
                  --existing writes a new CSR for a key already there instead of refusing.
  ceremony import-cert --key K --cert PEM
                  store the certificate the root issued for K, after checking its public key is
                  the HSM key (and, once the root is imported, that the root signed it).
                  K = device-root-ca imports the root certificate itself (no key on a station).
  ceremony transport-key -o PEM
                  image key, step 1: generate the RSA-3072 transport key pair
                  (keyline-transport-key; private half sensitive, non-extractable, unwrap only)
                  and write its public key for the product's key-management HSM.
  ceremony import-image-key --wrapped FILE [--expect-kcv HEX] [--oaep sha256|sha1]
                  image key, step 2: unwrap the image key (raw RSA-OAEP ciphertext, SHA-256 and
                  MGF1-SHA-256 unless --oaep sha1) into keyline-image-key inside the HSM and
                  print its key check value. --expect-kcv: refuse (exit 1) and destroy the
                  imported key when the KCV differs. Refused when an image key exists. The
                  transport key is destroyed after a successful import.

Keys K: issuing-ca, audit, keystore-signing, device-root-ca (import-cert only).
Default subject: "O=Keyline,CN=<inventory name> <station name>".

The module, token and PIN come from [hsm] in keyline.conf; the PIN from [hsm] pin,
$KEYLINE_HSM_PIN, the development default (SoftHSM2 dev token only), or a prompt. It is tried
once: a wrong PIN is reported, never retried, and never printed.

Exit codes: 0 done, 1 refused (key already there, policy violation, KCV differs), 2 bad usage
or bad input (a certificate or wrapped key that does not match), 3 HSM not ready (module, token,
PIN, missing key, mechanism the HSM lacks).

Examples:
  keyline hsm init-dev
  keyline hsm keys --json
  keyline hsm ceremony generate --key issuing-ca -o issuing-ca.csr.pem
  keyline hsm ceremony import-cert --key device-root-ca --cert root.pem
  keyline hsm ceremony import-cert --key issuing-ca --cert issuing-ca.pem
  keyline hsm ceremony transport-key -o transport.pub.pem
  keyline hsm ceremony import-image-key --wrapped image-key.bin --expect-kcv 1a2b3c
)";

QString yesNo(bool b) {
    return b ? QStringLiteral("yes") : QStringLiteral("no");
}

// §4: every key sensitive; only what the inventory says may be extractable.
QString policyProblem(const hsm::KeyInfo& k) {
    if (!k.sensitive)
        return QStringLiteral("CKA_SENSITIVE is false");
    const hsm::KeySpec* spec = hsm::findKeySpec(k.label);
    const bool mayExtract = spec && spec->extractable;
    if (k.extractable && !mayExtract)
        return QStringLiteral("CKA_EXTRACTABLE is true; this key must never leave the HSM");
    return {};
}

int initDev(Cli& cli, StationContext& station) {
    const StationConfig& c = station.config();
    if (!station.usesSoftHsm())
        return cli.fail(2, QStringLiteral("init-dev makes development keys and runs only on "
                                          "SoftHSM2; [hsm] module is %1")
                               .arg(c.hsmModule));
    const QString expectedConf = QDir(c.dataDir).filePath(QStringLiteral("softhsm/softhsm2.conf"));
    if (QDir::cleanPath(c.softhsmConf) != QDir::cleanPath(expectedConf))
        return cli.fail(2, QStringLiteral("init-dev keeps the token under the data directory "
                                          "(%1); remove [hsm] softhsm2_conf or set it to that")
                               .arg(expectedConf));
    auto pin = station.hsmConfig().pin.resolve(c.hsmToken);
    if (!pin)
        return failWith(cli, pin.error());
    hsm::DevTokenOptions options;
    options.dataDir = c.dataDir;
    options.stationName = c.stationName;
    options.modulePath = c.hsmModule;
    options.tokenLabel = c.hsmToken;
    options.userPin = *pin;
    auto report = hsm::initDevToken(options);
    pin->fill('\0');
    options.userPin.fill('\0');
    if (!report)
        return failWith(cli, report.error());
    cli.out << "token " << c.hsmToken << ": "
            << (report->tokenCreated ? "created" : "already there") << "\n";
    if (report->created.isEmpty()) {
        cli.out << "nothing to create: the development set is complete (" << report->present.size()
                << " keys and certificates)\n";
    } else {
        for (const QString& label : report->created)
            cli.out << "  created  " << label << "\n";
        if (!report->present.isEmpty())
            cli.out << "  kept     " << report->present.size()
                    << " keys and certificates already there\n";
    }
    cli.out << "SoftHSM2 configuration: " << report->softhsmConfig << "\n"
            << "public keys and certificates: " << report->exportDir << "\n";
    return 0;
}

int listKeys(Cli& cli, hsm::Hsm& hsm, const QString& token, bool json) {
    auto keys = hsm.listKeys();
    if (!keys)
        return failWith(cli, keys.error());
    int violations = 0;
    if (json) {
        QJsonArray array;
        for (const auto& k : *keys) {
            const QString problem = policyProblem(k);
            violations += problem.isEmpty() ? 0 : 1;
            array.append(QJsonObject{
                {QStringLiteral("label"), k.label},
                {QStringLiteral("id"), QString::fromLatin1(k.id.toHex())},
                {QStringLiteral("class"), k.keyClass},
                {QStringLiteral("type"), k.type},
                {QStringLiteral("purpose"), k.purpose},
                {QStringLiteral("sensitive"), k.sensitive},
                {QStringLiteral("extractable"), k.extractable},
                {QStringLiteral("always_sensitive"), k.alwaysSensitive},
                {QStringLiteral("never_extractable"), k.neverExtractable},
                {QStringLiteral("certificate"), k.hasCertificate},
                {QStringLiteral("uri"), k.uri},
                {QStringLiteral("policy"), problem.isEmpty()
                                               ? QStringLiteral("ok")
                                               : QStringLiteral("violation: ") + problem},
            });
        }
        cli.out << QJsonDocument(QJsonObject{{QStringLiteral("token"), token},
                                             {QStringLiteral("keys"), array}})
                       .toJson(QJsonDocument::Indented);
    } else {
        qsizetype width = 5;
        for (const auto& k : *keys)
            width = std::max(width, k.label.size());
        cli.out << QStringLiteral("LABEL").leftJustified(width + 2) << "TYPE      SENSITIVE "
                << "EXTRACTABLE CERT PURPOSE\n";
        for (const auto& k : *keys) {
            cli.out << k.label.leftJustified(width + 2) << k.type.leftJustified(10)
                    << yesNo(k.sensitive).leftJustified(10)
                    << yesNo(k.extractable).leftJustified(12)
                    << yesNo(k.hasCertificate).leftJustified(5) << k.purpose << "\n";
            const QString problem = policyProblem(k);
            if (!problem.isEmpty()) {
                ++violations;
                cli.out << QString(width + 2, QLatin1Char(' ')) << "POLICY VIOLATION: " << problem
                        << "\n";
            }
        }
        if (keys->empty())
            cli.out << "(no keys on token " << token << ")\n";
    }
    if (violations > 0)
        return cli.fail(1, QStringLiteral("%1 key(s) on token '%2' break the key policy "
                                          "(docs/key-inventory.md): replace them in a ceremony")
                               .arg(violations)
                               .arg(token));
    return 0;
}

QString defaultSubject(const hsm::CeremonyKey& key, const QString& station) {
    const hsm::KeySpec* spec = hsm::findKeySpec(key.label);
    QString cn = spec && !spec->certificateSubject.isEmpty() ? spec->certificateSubject
                                                             : QStringLiteral("Keyline Keystore "
                                                                              "Signing");
    cn = (cn + QLatin1Char(' ') + station).left(64).trimmed();
    return QStringLiteral("O=Keyline,CN=%1").arg(cn);
}

struct CeremonyArgs {
    QString key, subject, output, publicKeyOut, cert, wrapped, expectKcv, oaep;
    bool existing = false;
};

int ceremonyGenerate(Cli& cli, hsm::Pkcs11Hsm& hsm, const hsm::CeremonyKey& key,
                     const CeremonyArgs& a) {
    auto csr = hsm::generateKeyAndCsr(hsm, key, a.subject, a.existing);
    if (!csr)
        return failWith(cli, csr.error());
    if (auto w = writeOutputFile(a.output, hsm::toPem(csr->csrDer, "CERTIFICATE REQUEST")); !w)
        return failWith(cli, w.error());
    if (!a.publicKeyOut.isEmpty())
        if (auto w = writeOutputFile(a.publicKeyOut, hsm::toPem(csr->publicKeySpki, "PUBLIC KEY"));
            !w)
            return failWith(cli, w.error());
    cli.out << (csr->keyCreated ? "generated " : "existing ") << key.label << " on token "
            << hsm.tokenLabel() << " (EC P-256, sensitive, non-extractable)\n"
            << "CSR (" << a.subject << ") written to " << a.output << "\n";
    if (!a.publicKeyOut.isEmpty())
        cli.out << "public key written to " << a.publicKeyOut << "\n";
    if (key.certificate)
        cli.out << "next: have the offline root sign it, then `keyline hsm ceremony import-cert "
                   "--key "
                << key.name << " --cert <certificate>`\n";
    return 0;
}

int ceremonyImport(Cli& cli, hsm::Pkcs11Hsm& hsm, const hsm::CeremonyKey& key,
                   const CeremonyArgs& a) {
    auto data = readArgumentFile(a.cert, QStringLiteral("certificate"), 64 * 1024);
    if (!data)
        return failWith(cli, data.error());
    auto outcome = hsm::importCertificate(hsm, key, *data);
    if (!outcome)
        return failWith(cli, outcome.error());
    cli.out << (*outcome == hsm::ImportOutcome::Imported ? "imported" : "already imported")
            << ": certificate of " << key.label << " on token " << hsm.tokenLabel() << "\n";
    return 0;
}

int runCeremony(Cli& cli, StationContext& station, const QString& step, CeremonyArgs a) {
    if (step == QLatin1String("transport-key"))
        return ceremonyTransportKey(cli, station, a.output);
    if (step == QLatin1String("import-image-key"))
        return ceremonyImportImageKey(cli, station, a.wrapped, a.expectKcv, a.oaep);
    const bool generate = step == QLatin1String("generate");
    if (!generate && step != QLatin1String("import-cert"))
        return cli.fail(2, QStringLiteral("unknown ceremony step \"%1\"; use generate, "
                                          "import-cert, transport-key or import-image-key")
                               .arg(step));
    if (a.key.isEmpty())
        return cli.fail(
            2, QStringLiteral("ceremony %1 needs --key; see keyline hsm --help").arg(step));
    auto key = hsm::findCeremonyKey(a.key);
    if (!key)
        return failWith(cli, key.error());
    if (generate && a.output.isEmpty())
        return cli.fail(2, QStringLiteral("ceremony generate needs -o FILE for the CSR"));
    if (!generate && a.cert.isEmpty())
        return cli.fail(2, QStringLiteral("ceremony import-cert needs --cert FILE"));
    if (generate && a.subject.isEmpty())
        a.subject = defaultSubject(*key, station.config().stationName);
    if (generate)
        if (auto subject = hsm::parseSubject(a.subject); !subject)
            return failWith(cli, subject.error());
    auto hsm = station.openHsm();
    if (!hsm)
        return failWith(cli, hsm.error());
    return generate ? ceremonyGenerate(cli, **hsm, *key, a) : ceremonyImport(cli, **hsm, *key, a);
}

} // namespace

int runHsmCommand(Cli& cli, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption json(QStringLiteral("json"), QString());
    const QCommandLineOption key(QStringLiteral("key"), QString(), QStringLiteral("K"));
    const QCommandLineOption subject(QStringLiteral("subject"), QString(), QStringLiteral("S"));
    const QCommandLineOption output({QStringLiteral("o"), QStringLiteral("output")}, QString(),
                                    QStringLiteral("FILE"));
    const QCommandLineOption pubOut(QStringLiteral("public-key-out"), QString(),
                                    QStringLiteral("FILE"));
    const QCommandLineOption cert(QStringLiteral("cert"), QString(), QStringLiteral("FILE"));
    const QCommandLineOption existing(QStringLiteral("existing"), QString());
    const QCommandLineOption wrapped(QStringLiteral("wrapped"), QString(), QStringLiteral("FILE"));
    const QCommandLineOption expectKcv(QStringLiteral("expect-kcv"), QString(),
                                       QStringLiteral("HEX"));
    const QCommandLineOption oaep(QStringLiteral("oaep"), QString(), QStringLiteral("HASH"));
    if (auto done = parseCommandGroup(
            cli, parser,
            {json, key, subject, output, pubOut, cert, existing, wrapped, expectKcv, oaep}, args,
            QStringLiteral("hsm"), kHsmHelp))
        return *done;
    const QStringList positional = parser.positionalArguments();
    const QString& sub = positional.first();
    const QString helpCommand = QStringLiteral("keyline hsm");
    const bool ceremony = sub == QLatin1String("ceremony");
    if (positional.size() != (ceremony ? 2 : 1))
        return cli.fail(2, ceremony ? QStringLiteral("hsm ceremony needs a step: generate, "
                                                     "import-cert, transport-key or "
                                                     "import-image-key")
                                    : QStringLiteral("hsm %1 takes no further arguments").arg(sub));
    QStringList allowed;
    if (sub == QLatin1String("keys"))
        allowed = {QStringLiteral("json")};
    else if (ceremony && positional.at(1) == QLatin1String("generate"))
        allowed = {
            QStringLiteral("key"),    QStringLiteral("subject"),        QStringLiteral("o"),
            QStringLiteral("output"), QStringLiteral("public-key-out"), QStringLiteral("existing")};
    else if (ceremony && positional.at(1) == QLatin1String("transport-key"))
        allowed = {QStringLiteral("o"), QStringLiteral("output")};
    else if (ceremony && positional.at(1) == QLatin1String("import-image-key"))
        allowed = {QStringLiteral("wrapped"), QStringLiteral("expect-kcv"), QStringLiteral("oaep")};
    else if (ceremony)
        allowed = {QStringLiteral("key"), QStringLiteral("cert")};
    else if (sub != QLatin1String("init-dev"))
        return cli.fail(2, QStringLiteral("unknown hsm subcommand \"%1\"; use init-dev, keys or "
                                          "ceremony")
                               .arg(sub));
    if (int rc =
            rejectForeignOptions(cli, parser, QStringLiteral("hsm ") + sub, allowed, helpCommand))
        return rc;

    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    StationContext station(*config);
    if (sub == QLatin1String("init-dev"))
        return initDev(cli, station);
    if (ceremony)
        return runCeremony(cli, station, positional.at(1),
                           {parser.value(key), parser.value(subject), parser.value(output),
                            parser.value(pubOut), parser.value(cert), parser.value(wrapped),
                            parser.value(expectKcv), parser.value(oaep), parser.isSet(existing)});
    auto hsm = station.openHsm();
    if (!hsm)
        return failWith(cli, hsm.error());
    return listKeys(cli, **hsm, config->hsmToken, parser.isSet(json));
}

} // namespace keyline::station
