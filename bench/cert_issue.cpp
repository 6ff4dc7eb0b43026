// Certificates issued per second through the HSM (SoftHSM2 token made in a temp dir), as a
// ratio to raw C_Sign calls with the same key on the same token in the same run, and against a
// shell-scripted station that runs openssl x509 -req plus pkcs11-tool per device.
//
// Headline: issuance through the HSM of a checked CSR (build + HSM sign + encode); the full
// figure from raw CSRs is also given against raw C_Sign plus a bare OpenSSL verify.
//
// Usage: bench_cert_issue [devices=400] [shell_devices=40]
// Links: keyline::hsm, OpenSSL::Crypto, Qt6::Core.

#include "bench_util.h"
#include "hsm/dev_token.h"
#include "hsm/issuing_ca.h"
#include "hsm/key_inventory.h"
#include "hsm/pool_signer.h"
#include "hsm/x509_sign.h"

#include <QCoreApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <atomic>
#include <cstdio>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <thread>

using namespace keyline;
using namespace keyline::bench;
using namespace keyline::hsm;

namespace {

QByteArray makeCsrDer(const QString& cn, EVP_PKEY** keyOut = nullptr) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    OsslPtr<X509_REQ, X509_REQ_free> req(X509_REQ_new());
    X509_REQ_set_version(req.get(), X509_REQ_VERSION_1);
    const QByteArray c = cn.toUtf8();
    X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(c.constData()), -1, -1, 0);
    X509_REQ_set_pubkey(req.get(), key);
    X509_REQ_sign(req.get(), key, EVP_sha256());
    unsigned char* der = nullptr;
    const int len = i2d_X509_REQ(req.get(), &der);
    QByteArray out(reinterpret_cast<const char*>(der), len);
    OPENSSL_free(der);
    if (keyOut)
        *keyOut = key;
    else
        EVP_PKEY_free(key);
    return out;
}

// What OpenSSL itself needs to check a CSR's proof of possession: the signed bytes, the
// signature and the key, extracted before timing so the baseline is the bare verification.
struct RawVerifyInput {
    OsslPtr<EVP_PKEY, EVP_PKEY_free> key;
    QByteArray signedBytes;
    QByteArray signature;
};

RawVerifyInput rawVerifyInput(const QByteArray& csrDer) {
    const auto* p = reinterpret_cast<const unsigned char*>(csrDer.constData());
    OsslPtr<X509_REQ, X509_REQ_free> req(d2i_X509_REQ(nullptr, &p, long(csrDer.size())));
    if (!req)
        die(QStringLiteral("cannot parse a bench CSR"));
    RawVerifyInput in;
    in.key.reset(X509_REQ_get_pubkey(req.get()));
    unsigned char* tbs = nullptr;
    const int len = i2d_re_X509_REQ_tbs(req.get(), &tbs);
    in.signedBytes = QByteArray(reinterpret_cast<const char*>(tbs), len);
    OPENSSL_free(tbs);
    const ASN1_BIT_STRING* sig = nullptr;
    X509_REQ_get0_signature(req.get(), &sig, nullptr);
    in.signature = QByteArray(reinterpret_cast<const char*>(ASN1_STRING_get0_data(sig)),
                              ASN1_STRING_length(sig));
    return in;
}

bool rawVerify(const RawVerifyInput& in) {
    OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
    return ctx &&
           EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, in.key.get(),
                                   nullptr) == 1 &&
           EVP_DigestVerify(ctx.get(),
                            reinterpret_cast<const unsigned char*>(in.signature.constData()),
                            std::size_t(in.signature.size()),
                            reinterpret_cast<const unsigned char*>(in.signedBytes.constData()),
                            std::size_t(in.signedBytes.size())) == 1;
}

// Runs `work(i)` for i in [0, n) on `threads` threads; returns operations per second.
template <typename F>
double rate(int n, int threads, F work) {
    std::atomic<int> next{0};
    std::atomic<int> failures{0};
    QElapsedTimer t;
    t.start();
    std::vector<std::thread> pool;
    for (int k = 0; k < threads; ++k)
        pool.emplace_back([&] {
            for (int i = next++; i < n; i = next++)
                if (!work(i))
                    ++failures;
        });
    for (auto& th : pool)
        th.join();
    const double secs = double(t.nsecsElapsed()) / 1e9;
    if (failures > 0)
        die(QStringLiteral("%1 operations failed").arg(failures.load()));
    return n / secs;
}

bool runQuiet(const QString& program, const QStringList& args) {
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    if (!p.waitForFinished(30000) || p.exitStatus() != QProcess::NormalExit || p.exitCode() != 0) {
        std::fprintf(stderr, "%s failed: %s\n", qPrintable(program), p.readAll().constData());
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    const int devices = argc > 1 ? std::atoi(argv[1]) : 400;
    const int shellDevices = argc > 2 ? std::atoi(argv[2]) : 40;
    const int cores = int(std::thread::hardware_concurrency());

    QTemporaryDir dir;
    auto hsm = openDevToken(dir.path());
    auto signer = need(hsm->signer(hsm->uriFor(labels::issuingCa)), "issuing CA key");
    auto raw = std::dynamic_pointer_cast<PoolSigner>(signer);
    const QByteArray caDer =
        need(hsm->certificate(hsm->uriFor(labels::issuingCa, QStringLiteral("cert"))), "CA cert");
    auto ca = need(IssuingCa::create(signer, caDer), "issuing CA");
    const DeviceCertificateProfile profile{QStringLiteral("bench-customer"), QStringLiteral("dev"),
                                           3650};

    std::printf("preparing %d device CSRs...\n", devices);
    std::vector<QByteArray> csrs;
    std::vector<QString> ids;
    for (int i = 0; i < devices; ++i) {
        ids.push_back(QStringLiteral("bench-%1").arg(i, 6, 10, QLatin1Char('0')));
        csrs.push_back(makeCsrDer(ids.back()));
    }
    std::vector<CheckedCsr> checked;
    for (int i = 0; i < devices; ++i)
        checked.push_back(need(checkDeviceCsr(csrs[std::size_t(i)], ids[std::size_t(i)]), "CSR"));
    std::vector<RawVerifyInput> verifyInputs;
    for (const QByteArray& csr : csrs)
        verifyInputs.push_back(rawVerifyInput(csr));
    const QByteArray digest(32, '\x5a');

    // Warm-up so the first figures do not carry the module's lazy set-up.
    rate(50, 1, [&](int) { return raw->signDigestRaw(digest).ok(); });

    // The kinds are measured in alternating rounds and summed, so load from other processes on
    // this shared machine falls on all of them alike instead of on whichever ran last.
    const int rounds = 10;
    const int perRound = std::max(1, devices / rounds);
    double tRaw1 = 0, tVerify1 = 0, tIssue1 = 0, tChecked1 = 0, tRawN = 0, tIssueN = 0;
    auto time = [&](int threads, auto work) {
        return perRound / rate(perRound, threads, work);
    };
    for (int r = 0; r < rounds; ++r) {
        const int base = r * perRound;
        tRaw1 += time(1, [&](int) { return raw->signDigestRaw(digest).ok(); });
        tVerify1 += time(1, [&](int i) { return rawVerify(verifyInputs[std::size_t(base + i)]); });
        tIssue1 += time(1, [&](int i) {
            const auto k = std::size_t(base + i);
            return ca->issueFromCsr(csrs[k], ids[k], profile).ok();
        });
        tChecked1 +=
            time(1, [&](int i) { return ca->issue(checked[std::size_t(base + i)], profile).ok(); });
        tRawN += time(cores, [&](int) { return raw->signDigestRaw(digest).ok(); });
        tIssueN += time(cores, [&](int i) {
            const auto k = std::size_t(base + i);
            return ca->issueFromCsr(csrs[k], ids[k], profile).ok();
        });
    }
    const int measured = rounds * perRound;
    const double rawSign1 = measured / tRaw1;
    const double rawVerify1 = measured / tVerify1;
    const double issue1 = measured / tIssue1;
    const double issueChecked1 = measured / tChecked1;
    const double rawSignN = measured / tRawN;
    const double issueN = measured / tIssueN;

    // The shell-scripted station: per device, openssl x509 -req builds and signs the certificate
    // structure (with a scratch key, since OpenSSL cannot reach the token without an engine),
    // openssl dgst hashes it and pkcs11-tool makes the HSM signature. Splicing that signature
    // in would take yet another process, so this is a lower bound on the shell station's cost.
    const QDir d(dir.path());
    const QString scratchKey = d.filePath(QStringLiteral("scratch.key"));
    const QString scratchCa = d.filePath(QStringLiteral("scratch-ca.pem"));
    const QString ext = d.filePath(QStringLiteral("ext.cnf"));
    {
        QFile f(ext);
        if (!f.open(QIODevice::WriteOnly))
            die(QStringLiteral("cannot write ext.cnf"));
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid:always\n");
    }
    if (!runQuiet(QStringLiteral("openssl"),
                  {QStringLiteral("req"), QStringLiteral("-x509"), QStringLiteral("-newkey"),
                   QStringLiteral("ec"), QStringLiteral("-pkeyopt"),
                   QStringLiteral("ec_paramgen_curve:P-256"), QStringLiteral("-nodes"),
                   QStringLiteral("-keyout"), scratchKey, QStringLiteral("-out"), scratchCa,
                   QStringLiteral("-subj"), QStringLiteral("/CN=scratch"), QStringLiteral("-days"),
                   QStringLiteral("30")}))
        die(QStringLiteral("cannot make the scratch CA"));
    for (int i = 0; i < shellDevices; ++i) {
        QFile f(d.filePath(QStringLiteral("csr-%1.pem").arg(i)));
        if (!f.open(QIODevice::WriteOnly))
            die(QStringLiteral("cannot write CSR"));
        f.write(toPem(csrs[std::size_t(i)], "CERTIFICATE REQUEST"));
    }
    const double shell = rate(shellDevices, 1, [&](int i) {
        const QString csr = d.filePath(QStringLiteral("csr-%1.pem").arg(i));
        const QString cert = d.filePath(QStringLiteral("cert-%1.der").arg(i));
        const QString hash = d.filePath(QStringLiteral("hash-%1.bin").arg(i));
        const QString sig = d.filePath(QStringLiteral("sig-%1.bin").arg(i));
        return runQuiet(QStringLiteral("openssl"),
                        {QStringLiteral("x509"), QStringLiteral("-req"), QStringLiteral("-in"), csr,
                         QStringLiteral("-CA"), scratchCa, QStringLiteral("-CAkey"), scratchKey,
                         QStringLiteral("-set_serial"), QString::number(1000 + i),
                         QStringLiteral("-days"), QStringLiteral("3650"),
                         QStringLiteral("-extfile"), ext, QStringLiteral("-outform"),
                         QStringLiteral("DER"), QStringLiteral("-out"), cert}) &&
               // SoftHSM2 has no CKM_ECDSA_SHA256: hash first, as the station does.
               runQuiet(QStringLiteral("openssl"),
                        {QStringLiteral("dgst"), QStringLiteral("-sha256"),
                         QStringLiteral("-binary"), QStringLiteral("-out"), hash, cert}) &&
               runQuiet(QStringLiteral("pkcs11-tool"),
                        {QStringLiteral("--module"), kSoftHsmModule,
                         QStringLiteral("--token-label"), QStringLiteral("keyline-dev"),
                         QStringLiteral("--login"), QStringLiteral("--pin"),
                         QString::fromLatin1(kBenchPin), QStringLiteral("--sign"),
                         QStringLiteral("--mechanism"),
                         // --id, not --label: pkcs11-tool 0.23 signs with the first private
                         // key it finds when only a label is given.
                         QStringLiteral("ECDSA"), QStringLiteral("--id"),
                         QString::fromLatin1(labels::issuingCa.toUtf8().toHex()),
                         QStringLiteral("-i"), hash, QStringLiteral("-o"), sig});
    });

    // The headline is the CA's issuance through the HSM (build, HSM signature, encoding) for a
    // CSR the engine has checked: what the station adds around C_Sign. Checking the CSR costs one
    // P-256 verification (proof of possession), on SoftHSM2 more than the signature itself; the
    // full figure is therefore also given against raw C_Sign plus OpenSSL's bare verification,
    // both measured here, so it shows what the station adds around the two unavoidable
    // operations.
    const double rawPair = 1.0 / (1.0 / rawSign1 + 1.0 / rawVerify1);
    const auto verdict = [](double r) {
        return r >= 0.7 ? "met" : "NOT met";
    };
    std::printf("\ncertificate issuance through the HSM (SoftHSM2, P-256, %d devices, %d cores)\n",
                devices, cores);
    std::printf("HEADLINE issue through the HSM (build+sign) / raw C_Sign, 1 thread: %.2f "
                "(goal >= 0.70: %s)\n",
                issueChecked1 / rawSign1, verdict(issueChecked1 / rawSign1));
    std::printf("  raw C_Sign, 1 thread                          %9.0f /s\n", rawSign1);
    std::printf("  raw OpenSSL CSR signature verify, 1 thread    %9.0f /s\n", rawVerify1);
    std::printf("  issue checked CSR (build+sign), 1 thread      %9.0f /s   / raw C_Sign %.2f\n",
                issueChecked1, issueChecked1 / rawSign1);
    std::printf("  issue from raw CSR (check+build+sign), 1 thr  %9.0f /s   / raw C_Sign %.2f, "
                "/ (raw C_Sign + raw verify) %.2f (goal >= 0.70: %s)\n",
                issue1, issue1 / rawSign1, issue1 / rawPair, verdict(issue1 / rawPair));
    std::printf("  raw C_Sign, %d threads (session pool)          %9.0f /s\n", cores, rawSignN);
    std::printf("  issue from raw CSR, %d threads (pool)          %9.0f /s   / raw C_Sign "
                "(%d threads) %.2f\n",
                cores, issueN, cores, issueN / rawSignN);
    std::printf(
        "  shell station (openssl x509 -req, dgst, pkcs11-tool per device, %d devices)\n"
        "                                                 %9.1f /s   keyline (raw CSR) is %.0fx "
        "faster\n",
        shellDevices, shell, issue1 / shell);
    summaryRow("certificates through the HSM, checked CSR", issueChecked1, "/s", "raw C_Sign",
               rawSign1, issueChecked1 / rawSign1, ">= 0.70", issueChecked1 / rawSign1 >= 0.7);
    summaryRow("certificates from raw CSRs", issue1, "/s", "raw C_Sign + raw verify", rawPair,
               issue1 / rawPair, ">= 0.70", issue1 / rawPair >= 0.7);
    return 0;
}
