#include "hsm/issuing_ca.h"
#include "station/cli.h"
#include "station/command_util.h"
#include "station/station_context.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/x509.h>

namespace keyline::station {
namespace {

const char* kCaHelp =
    R"(Usage: keyline ca issue --csr CSR --device-id ID --customer C --env dev|prod
                        -o CHAIN [--days N]

Engineer tool: the station's issuing CA (key [hsm] issuing_ca, in the HSM) issues a device TLS
client certificate from a PKCS#10 request (PEM or DER), as the production run does
(docs/certificate-profile.md), and writes the chain (device certificate, then the issuing CA
certificate) as PEM. The CSR must be EC P-256, signed by its own key, with subject exactly
CN=<ID>: the device ID is always stated, never taken from the request, so a request for the
wrong device is refused. Certificates issued here are not recorded in the station database.

Options:
  --csr FILE        the device's certificate request
  --device-id ID    the device ID the certificate is for (1-64 of A-Z a-z 0-9 . _ -)
  --customer C      customer ID (subject O)
  --env dev|prod    environment (subject OU)
  -o, --output F    where the PEM chain goes (replaced atomically)
  --days N          validity, 1 to 3650 days (default 3650; never past the CA's)

Exit codes: 0 issued, 1 the CSR's signature does not verify (no proof of possession), 2 bad
usage or a CSR that is refused (malformed, wrong key, wrong curve, wrong subject), 3 HSM not
ready (module, token, PIN, CA key or certificate missing).

Example:
  keyline ca issue --csr dev-0001.csr.pem --device-id dev-0001 --customer acme-42 --env dev \
      -o dev-0001.chain.pem
)";

QString timeText(const ASN1_TIME* t) {
    OsslPtr<BIO, BIO_free> bio(BIO_new(BIO_s_mem()));
    ASN1_TIME_print(bio.get(), t);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return QString::fromLatin1(data, int(len));
}

struct IssueArgs {
    QString csr, deviceId, customer, env, output;
    int days = 3650;
};

int issue(Cli& cli, hsm::Hsm& hsm, const hsm::KeyUri& caKey, const hsm::CheckedCsr& csr,
          const IssueArgs& a) {
    auto signer = hsm.signer(caKey);
    if (!signer)
        return failWith(cli, signer.error());
    hsm::KeyUri certUri = caKey;
    certUri.type = QStringLiteral("cert");
    auto caDer = hsm.certificate(certUri);
    if (!caDer)
        return failWith(cli, caDer.error());
    auto ca = hsm::IssuingCa::create(*signer, *caDer);
    if (!ca)
        return failWith(cli, ca.error());
    auto der = (*ca)->issue(csr, {a.customer, a.env, a.days});
    if (!der)
        return failWith(cli, der.error());
    const QByteArray chain = hsm::toPem(*der, "CERTIFICATE") + hsm::toPem(*caDer, "CERTIFICATE");
    if (auto w = writeOutputFile(a.output, chain); !w)
        return failWith(cli, w.error());
    auto cert = hsm::parseCertificate(*der);
    if (!cert)
        return failWith(cli, cert.error());
    OsslPtr<BIGNUM, BN_free> serial(
        ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->get()), nullptr));
    char* hex = serial ? BN_bn2hex(serial.get()) : nullptr;
    cli.out << "issued certificate for " << csr.deviceId() << " (O=" << a.customer
            << ", OU=" << a.env << ")\n"
            << "  serial     " << (hex ? QString::fromLatin1(hex) : QStringLiteral("?")) << "\n"
            << "  not after  " << timeText(X509_get0_notAfter(cert->get())) << "\n"
            << "  chain      " << a.output << " (device, issuing CA)\n";
    OPENSSL_free(hex);
    return 0;
}

} // namespace

int runCaCommand(Cli& cli, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption csr(QStringLiteral("csr"), QString(), QStringLiteral("FILE"));
    const QCommandLineOption deviceId(QStringLiteral("device-id"), QString(), QStringLiteral("ID"));
    const QCommandLineOption customer(QStringLiteral("customer"), QString(), QStringLiteral("C"));
    const QCommandLineOption env(QStringLiteral("env"), QString(), QStringLiteral("E"));
    const QCommandLineOption output({QStringLiteral("o"), QStringLiteral("output")}, QString(),
                                    QStringLiteral("FILE"));
    const QCommandLineOption days(QStringLiteral("days"), QString(), QStringLiteral("N"));
    if (auto done = parseCommandGroup(cli, parser, {csr, deviceId, customer, env, output, days},
                                      args, QStringLiteral("ca"), kCaHelp))
        return *done;
    const QStringList positional = parser.positionalArguments();
    if (positional.size() != 1 || positional.first() != QLatin1String("issue")) {
        cli.err << QString::fromUtf8(kCaHelp);
        return 2;
    }
    IssueArgs a{parser.value(csr), parser.value(deviceId), parser.value(customer),
                parser.value(env), parser.value(output)};
    for (const auto& [value, name] :
         {std::pair{&a.csr, "--csr"}, std::pair{&a.deviceId, "--device-id"},
          std::pair{&a.customer, "--customer"}, std::pair{&a.env, "--env"},
          std::pair{&a.output, "-o"}})
        if (value->isEmpty())
            return cli.fail(2, QStringLiteral("ca issue needs %1; see keyline ca --help")
                                   .arg(QLatin1String(name)));
    if (parser.isSet(days)) {
        bool ok = false;
        a.days = parser.value(days).toInt(&ok);
        if (!ok || a.days < 1 || a.days > 3650)
            return cli.fail(2, QStringLiteral("--days must be 1 to 3650"));
    }
    if (a.env != QLatin1String("dev") && a.env != QLatin1String("prod"))
        return cli.fail(2, QStringLiteral("--env must be dev or prod"));
    for (const auto& [what, value] : {std::pair{QStringLiteral("device ID"), a.deviceId},
                                      std::pair{QStringLiteral("customer ID"), a.customer}})
        if (auto ok = hsm::checkIdentifier(what, value); !ok)
            return failWith(cli, ok.error());

    // The request is checked before the HSM is touched: a bad CSR is the engineer's input
    // (exit 2, or 1 for a signature that does not verify), whatever state the HSM is in.
    auto request = readArgumentFile(a.csr, QStringLiteral("CSR"), 64 * 1024);
    if (!request)
        return failWith(cli, request.error());
    auto checked = hsm::checkDeviceCsr(*request, a.deviceId);
    if (!checked)
        return failWith(cli, checked.error().withContext(a.csr));

    auto config = loadConfig(cli.configPath);
    if (!config)
        return failWith(cli, config.error());
    StationContext station(*config);
    auto hsm = station.openHsm();
    if (!hsm)
        return failWith(cli, hsm.error());
    return issue(cli, **hsm, config->issuingCaKey, *checked, a);
}

} // namespace keyline::station
