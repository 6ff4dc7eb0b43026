#include "csr_maker.h"
#include "hsm/issuing_ca.h"
#include "hsm/key_inventory.h"
#include "hsm_fixture.h"

#include <QDir>
#include <QFile>
#include <QSet>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

using namespace keyline;
using namespace keyline::hsm;
using keyline::test::DevTokenFixture;
using keyline::test::makeCsr;
using keyline::test::makeEcKey;

namespace {

struct CaFixture : DevTokenFixture {
    std::unique_ptr<Pkcs11Hsm> hsm = open();
    std::unique_ptr<IssuingCa> ca;
    DeviceCertificateProfile profile{QStringLiteral("acme-42"), QStringLiteral("dev"), 3650};

    CaFixture() {
        auto signer = hsm->signer(hsm->uriFor(labels::issuingCa));
        REQUIRE(signer.ok());
        auto cert = hsm->certificate(hsm->uriFor(labels::issuingCa, QStringLiteral("cert")));
        REQUIRE(cert.ok());
        auto created = IssuingCa::create(*signer, *cert);
        if (!created.ok())
            FAIL(created.error().toString().toStdString());
        ca = std::move(created).value();
    }

    QString write(const QString& name, const QByteArray& pem) const {
        const QString path = QDir(dir.path()).filePath(name);
        QFile f(path);
        REQUIRE(f.open(QIODevice::WriteOnly));
        f.write(pem);
        return path;
    }
};

QString extText(X509* x, int nid, bool* critical) {
    const int idx = X509_get_ext_by_NID(x, nid, -1);
    if (idx < 0)
        return {};
    X509_EXTENSION* ext = X509_get_ext(x, idx);
    *critical = X509_EXTENSION_get_critical(ext);
    OsslPtr<BIO, BIO_free> bio(BIO_new(BIO_s_mem()));
    X509V3_EXT_print(bio.get(), ext, 0, 0);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return QString::fromUtf8(data, int(len)).trimmed();
}

QString nameField(X509_NAME* name, int nid) {
    const int idx = X509_NAME_get_index_by_NID(name, nid, -1);
    if (idx < 0)
        return {};
    const ASN1_STRING* v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    return QString::fromUtf8(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                             ASN1_STRING_length(v));
}

} // namespace

TEST_CASE("issued device certificates follow the profile") {
    CaFixture fx;
    auto key = makeEcKey();
    auto der = fx.ca->issueFromCsr(makeCsr(key.get(), QStringLiteral("dev-0001")),
                                   QStringLiteral("dev-0001"), fx.profile);
    if (!der.ok())
        FAIL(der.error().toString().toStdString());
    auto cert = parseCertificate(*der);
    REQUIRE(cert.ok());
    X509* x = cert->get();

    CHECK(X509_get_version(x) == X509_VERSION_3);
    CHECK(X509_get_signature_nid(x) == NID_ecdsa_with_SHA256);
    OsslPtr<BIGNUM, BN_free> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), nullptr));
    CHECK_FALSE(BN_is_negative(serial.get()));
    CHECK(BN_num_bits(serial.get()) >= 64);
    CHECK(EVP_PKEY_eq(X509_get0_pubkey(x), key.get()) == 1);

    X509_NAME* subject = X509_get_subject_name(x);
    CHECK(nameField(subject, NID_commonName) == QStringLiteral("dev-0001"));
    CHECK(nameField(subject, NID_organizationName) == QStringLiteral("acme-42"));
    CHECK(nameField(subject, NID_organizationalUnitName) == QStringLiteral("dev"));

    bool critical = false;
    CHECK(extText(x, NID_basic_constraints, &critical) == QStringLiteral("CA:FALSE"));
    CHECK(critical);
    CHECK(extText(x, NID_key_usage, &critical) == QStringLiteral("Digital Signature"));
    CHECK(critical);
    CHECK(extText(x, NID_ext_key_usage, &critical) ==
          QStringLiteral("TLS Web Client Authentication"));
    CHECK_FALSE(critical);
    CHECK_FALSE(extText(x, NID_subject_key_identifier, &critical).isEmpty());
    auto caCert = parseCertificate(fx.ca->caCertificateDer());
    REQUIRE(caCert.ok());
    const ASN1_OCTET_STRING* caSki = X509_get0_subject_key_id(caCert->get());
    const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(x);
    REQUIRE(caSki);
    REQUIRE(aki);
    CHECK(ASN1_STRING_cmp(caSki, aki) == 0);

    // Valid now, and not beyond the CA.
    CHECK(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
    CHECK(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
    CHECK(ASN1_TIME_compare(X509_get0_notAfter(x), X509_get0_notAfter(caCert->get())) <= 0);
}

TEST_CASE("issued chains verify with openssl -x509_strict and GnuTLS certtool") {
    CaFixture fx;
    const QString root = QDir(fx.report.exportDir).filePath(QStringLiteral("device-root-ca.pem"));
    QFile rootFile(root);
    REQUIRE(rootFile.open(QIODevice::ReadOnly));
    const QByteArray rootPem = rootFile.readAll();
    const QByteArray caPem = toPem(fx.ca->caCertificateDer(), "CERTIFICATE");
    const QString issuing = fx.write(QStringLiteral("issuing.pem"), caPem);
    // Many certificates: a mis-encoded signature BIT STRING breaks about half of them.
    QSet<QByteArray> serials;
    for (int i = 0; i < 12; ++i) {
        const QString id = QStringLiteral("dev-%1").arg(i, 4, 10, QLatin1Char('0'));
        auto key = makeEcKey();
        auto der = fx.ca->issueFromCsr(makeCsr(key.get(), id), id, fx.profile);
        REQUIRE(der.ok());
        auto cert = parseCertificate(*der);
        REQUIRE(cert.ok());
        serials.insert(QByteArray(reinterpret_cast<const char*>(
                                      ASN1_STRING_get0_data(X509_get0_serialNumber(cert->get()))),
                                  ASN1_STRING_length(X509_get0_serialNumber(cert->get()))));
        const QByteArray leafPem = toPem(*der, "CERTIFICATE");
        const QString leaf = fx.write(id + QStringLiteral(".pem"), leafPem);
        auto ossl = test::run(QStringLiteral("openssl"),
                              {QStringLiteral("verify"), QStringLiteral("-x509_strict"),
                               QStringLiteral("-purpose"), QStringLiteral("sslclient"),
                               QStringLiteral("-CAfile"), root, QStringLiteral("-untrusted"),
                               issuing, leaf});
        INFO(ossl.output.toStdString());
        CHECK(ossl.exitCode == 0);

        const QString chain =
            fx.write(id + QStringLiteral("-chain.pem"), leafPem + caPem + rootPem);
        auto gnutls = test::run(QStringLiteral("certtool"), {QStringLiteral("--verify-chain"),
                                                             QStringLiteral("--infile"), chain});
        INFO(gnutls.output.toStdString());
        CHECK(gnutls.exitCode == 0);
        CHECK(gnutls.output.contains(QStringLiteral("Chain verification output: Verified")));
        auto gnutlsAnchored = test::run(
            QStringLiteral("certtool"),
            {QStringLiteral("--verify"), QStringLiteral("--load-ca-certificate"), root,
             QStringLiteral("--infile"), fx.write(id + QStringLiteral("-2.pem"), leafPem + caPem)});
        INFO(gnutlsAnchored.output.toStdString());
        CHECK(gnutlsAnchored.exitCode == 0);
    }
    CHECK(serials.size() == 12);
}

TEST_CASE("bad CSRs are refused with a named reason") {
    CaFixture fx;
    const QString id = QStringLiteral("dev-0042");
    auto key = makeEcKey();
    const QByteArray good = makeCsr(key.get(), id);
    REQUIRE(fx.ca->issueFromCsr(good, id, fx.profile).ok());

    auto refused = [&](const QByteArray& csr, CsrRejection why) {
        auto r = fx.ca->issueFromCsr(csr, id, fx.profile);
        REQUIRE_FALSE(r.ok());
        INFO(r.error().toString().toStdString());
        CHECK(r.error().detail() == int(why));
        CHECK(r.error().toString().contains(csrRejectionName(why)));
    };

    SECTION("malformed") {
        refused(QByteArray(), CsrRejection::Malformed);
        refused(QByteArray("not a csr"), CsrRejection::Malformed);
        refused(good.left(good.size() / 2), CsrRejection::Malformed);
        refused(good + QByteArray("\x00", 1), CsrRejection::Malformed);
        refused(QByteArray("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE "
                           "REQUEST-----\n"),
                CsrRejection::Malformed);
        QByteArray header = good;
        header[0] = 0x31; // SET instead of SEQUENCE
        refused(header, CsrRejection::Malformed);
        refused(QByteArray(5000, 'A'), CsrRejection::TooLarge);
    }
    SECTION("wrong curve and wrong key type") {
        auto p384 = makeEcKey("P-384");
        refused(makeCsr(p384.get(), id), CsrRejection::WrongCurve);
        auto rsa = test::makeRsaKey();
        refused(makeCsr(rsa.get(), id), CsrRejection::NotEcKey);
    }
    SECTION("wrong subject") {
        refused(makeCsr(key.get(), QStringLiteral("dev-0043")), CsrRejection::WrongSubject);
        refused(makeCsr(key.get(), id, nullptr, "Evil Corp"), CsrRejection::WrongSubject);
        refused(makeCsr(key.get(), id + QStringLiteral(" ")), CsrRejection::WrongSubject);
    }
    SECTION("bad signature") {
        QByteArray flipped = good;
        flipped[flipped.size() - 5] = char(flipped[flipped.size() - 5] ^ 0x01);
        refused(flipped, CsrRejection::BadSignature);
        auto other = makeEcKey();
        refused(makeCsr(key.get(), id, other.get()), CsrRejection::BadSignature);
    }
    SECTION("PEM is accepted too") {
        CHECK(fx.ca->issueFromCsr(toPem(good, "CERTIFICATE REQUEST"), id, fx.profile).ok());
    }
    SECTION("bad profile values") {
        DeviceCertificateProfile p = fx.profile;
        p.environment = QStringLiteral("staging");
        CHECK(fx.ca->issueFromCsr(good, id, p).error().code() == ErrorCode::InvalidArgument);
        p = fx.profile;
        p.customerId = QStringLiteral("acme,O=root");
        CHECK(fx.ca->issueFromCsr(good, id, p).error().code() == ErrorCode::InvalidArgument);
        CHECK(fx.ca->issueFromCsr(good, QStringLiteral("CN=x"), fx.profile).error().code() ==
              ErrorCode::InvalidArgument);
    }
}

TEST_CASE("the CA refuses a certificate that is not its key's") {
    CaFixture fx;
    auto rootSigner = fx.hsm->signer(fx.hsm->uriFor(labels::deviceRootCa));
    REQUIRE(rootSigner.ok());
    auto r = IssuingCa::create(*rootSigner, fx.ca->caCertificateDer());
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::EnvironmentNotReady);
    auto audit = fx.hsm->signer(fx.hsm->uriFor(labels::auditSigning));
    REQUIRE(audit.ok());
    auto auditCert =
        fx.hsm->certificate(fx.hsm->uriFor(labels::auditSigning, QStringLiteral("cert")));
    REQUIRE(auditCert.ok());
    auto notCa = IssuingCa::create(*audit, *auditCert);
    REQUIRE_FALSE(notCa.ok());
    CHECK(notCa.error().code() == ErrorCode::EnvironmentNotReady);
}
