// The package format and the device's verifier: round trips, and a refusal that names the region
// for a changed byte anywhere in the file (docs/package-format.md).

#include "firmware_image/package_format.h"
#include "package_fixture.h"

using namespace keyline;
using namespace keyline::firmware;
using keyline::test::PackageWorld;
using keyline::test::SoftSigner;

namespace {

QByteArray sha(QByteArrayView b) {
    return pkg::sha256(b);
}

// Asserts a refusal naming `region` (and `mention`, e.g. the component's name).
void expectRegion(const Result<VerifiedPackage>& r, PackageRegion region,
                  const QString& mention = {}) {
    REQUIRE_FALSE(r.ok());
    INFO(r.error().toString().toStdString());
    CHECK((r.error().code() == ErrorCode::BadInput ||
           r.error().code() == ErrorCode::VerificationFailed));
    CHECK(regionOf(r.error()) == region);
    CHECK(r.error().message().startsWith(
        QStringLiteral("package region '%1'").arg(regionName(region))));
    if (!mention.isEmpty())
        CHECK(r.error().message().contains(mention));
}

QByteArray flipped(QByteArray b, qsizetype at, char mask = 0x01) {
    b[at] = char(b[at] ^ mask);
    return b;
}

// After changing manifest fields on purpose, recompute both manifest digests so that the
// strict field checks behind them are reached (what a forger would do; the tag still fails).
void resealDigests(QByteArray& p) {
    const auto l = qFromBigEndian<quint32>(p.constData() + 8);
    const qsizetype at = kPackageHeaderBytes, lenAt = at + l - 34;
    const quint16 appLen = qFromBigEndian<quint16>(p.constData() + lenAt);
    const qsizetype appAt = lenAt - appLen;
    p.replace(appAt - 32, 32, sha(QByteArrayView(p).sliced(appAt, appLen)));
    const QByteArray covered = p.mid(at, appAt - at) + p.mid(lenAt, 2);
    p.replace(lenAt + 2, 32, sha(covered));
}

} // namespace

TEST_CASE("package round trip: the device installs what the station built", "[package]") {
    PackageWorld w;
    const QByteArray p = w.package();
    auto layout = parsePackage(p);
    REQUIRE(layout.ok());
    const auto& s = layout->spans;
    // docs/package-format.md §2: header, manifest, signatures, IV, OS, tag, application.
    CHECK(p.left(4) == QByteArray("KLPK"));
    CHECK(p.mid(4, 3) == QByteArray("\x00\x01\x01", 3));
    CHECK(p.at(7) == 1); // development: manifest signature present
    CHECK(s.header.size == 36);
    CHECK(s.manifestSignature.size == 64);
    CHECK(s.appSignature.size == 64);
    CHECK(s.osIv.size == 12);
    CHECK(s.os.size == 700 + 90000 + 150001);
    CHECK(s.osTag.size == 16);
    CHECK(s.application.offset + s.application.size == p.size());
    CHECK(s.manifest.offset == 36);
    CHECK(s.osIv.offset == s.appSignature.offset + 64);
    REQUIRE(s.components.size() == 3);
    CHECK(s.components[2].offset + s.components[2].size == s.osTag.offset);

    QByteArray os;
    auto v = verifyPackageForInstall(p, w.anchors(), &os);
    if (!v.ok())
        FAIL(v.error().toString().toStdString());
    const auto in = w.input({});
    CHECK(os == in.components[0].data + in.components[1].data + in.components[2].data);
    REQUIRE(v->components.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(v->components[i].name == in.components[i].name);
        CHECK(v->components[i].sha256 == sha(in.components[i].data));
    }
    CHECK(v->osVersion == QStringLiteral("12.5.1"));
    CHECK(v->appVersion == QStringLiteral("1.2.0"));
    CHECK(v->osCounter == 3);
    CHECK(v->appCounter == 5);
    CHECK(v->applicationSha256 == sha(test::pattern(5000, 'a')));
    CHECK(v->measurement == sha(QByteArrayView(p).first(s.manifest.offset + s.manifest.size)));
    CHECK(v->manifest.customerId == QStringLiteral("acme-42"));
    CHECK(measureBoot(p, w.anchors()).ok());

    // One content, one encoding: the manifest re-encodes to exactly its bytes.
    auto again = pkg::encodeManifest(layout->manifest);
    REQUIRE(again.ok());
    CHECK(*again == p.mid(s.manifest.offset, s.manifest.size));
}

TEST_CASE("production package: no manifest signature, bound by the tag", "[package]") {
    PackageWorld w;
    w.env = Environment::Production;
    const QByteArray p = w.package();
    CHECK(p.at(6) == 2);
    CHECK(p.at(7) == 0);
    auto layout = parsePackage(p);
    REQUIRE(layout.ok());
    CHECK(layout->spans.manifestSignature.size == 0);
    CHECK(verifyPackageForInstall(p, w.anchors()).ok());

    // The station never holds a customer's key: a manifest signer in prod is a usage error,
    // and development always signs.
    auto signedApp = buildSignedApp(w.release(), test::pattern(10, 'a'), w.app);
    REQUIRE(signedApp.ok());
    test::SoftSealer sealer(w.imageKey);
    QBuffer out;
    REQUIRE(out.open(QIODevice::WriteOnly));
    CHECK(writePackage(w.input(*signedApp), sealer, &w.app, out).error().code() ==
          ErrorCode::InvalidArgument);
    PackageWorld dev;
    auto devApp = buildSignedApp(dev.release(), test::pattern(10, 'a'), dev.app);
    REQUIRE(devApp.ok());
    CHECK(writePackage(dev.input(*devApp), sealer, nullptr, out).error().code() ==
          ErrorCode::InvalidArgument);
    SoftSigner other;
    CHECK(writePackage(dev.input(*devApp), sealer, &other, out).error().code() ==
          ErrorCode::Refused);
}

TEST_CASE("a changed byte in any region is refused, naming the region", "[package][tamper]") {
    PackageWorld w;
    const QByteArray p = w.package();
    const auto a = w.anchors();
    const auto s = parsePackage(p)->spans;

    SECTION("header, every byte") {
        for (qsizetype i = 0; i < s.header.size; ++i) {
            expectRegion(verifyPackageForInstall(flipped(p, i), a), PackageRegion::Header);
            expectRegion(verifyPackageForInstall(flipped(p, i, char(0xff)), a),
                         PackageRegion::Header);
        }
    }
    SECTION("manifest, every byte outside the application manifest") {
        for (qsizetype i = s.manifest.offset; i < s.manifest.offset + s.manifest.size; ++i)
            if (i < s.appManifest.offset || i >= s.appManifest.offset + s.appManifest.size)
                expectRegion(verifyPackageForInstall(flipped(p, i), a), PackageRegion::Manifest);
    }
    SECTION("application manifest, every byte") {
        for (qsizetype i = s.appManifest.offset; i < s.appManifest.offset + s.appManifest.size; ++i)
            expectRegion(verifyPackageForInstall(flipped(p, i), a), PackageRegion::AppManifest);
    }
    SECTION("manifest signature and application signature, every byte") {
        for (qsizetype i = 0; i < 64; ++i) {
            expectRegion(verifyPackageForInstall(flipped(p, s.manifestSignature.offset + i), a),
                         PackageRegion::ManifestSignature);
            expectRegion(verifyPackageForInstall(flipped(p, s.appSignature.offset + i), a),
                         PackageRegion::AppSignature);
        }
    }
    SECTION("IV and tag, every byte") {
        for (qsizetype i = 0; i < 12; ++i)
            expectRegion(verifyPackageForInstall(flipped(p, s.osIv.offset + i), a),
                         PackageRegion::OsIv);
        for (qsizetype i = 0; i < 16; ++i)
            expectRegion(verifyPackageForInstall(flipped(p, s.osTag.offset + i), a),
                         PackageRegion::OsTag);
    }
    SECTION("each OS component, first, middle and last byte") {
        const QStringList names{QStringLiteral("bootloader"), QStringLiteral("kernel"),
                                QStringLiteral("rootfs")};
        for (std::size_t c = 0; c < 3; ++c) {
            const Span& span = s.components[c];
            for (qsizetype at :
                 {span.offset, span.offset + span.size / 2, span.offset + span.size - 1}) {
                QByteArray os = "untouched";
                auto r = verifyPackageForInstall(flipped(p, at), a, &os);
                expectRegion(r, PackageRegion::OsComponent,
                             QLatin1Char('\'') + names[int(c)] + QLatin1Char('\''));
                CHECK(os == "untouched"); // no unauthenticated plaintext handed out
            }
        }
    }
    SECTION("application, first, middle and last byte") {
        for (qsizetype at : {s.application.offset, s.application.offset + s.application.size / 2,
                             qsizetype(p.size() - 1)})
            expectRegion(verifyPackageForInstall(flipped(p, at), a), PackageRegion::Application);
    }
}

TEST_CASE("policy refusals: rollback, customer, environment, keystore, hardware", "[package]") {
    PackageWorld w;
    const QByteArray p = w.package();

    SECTION("rollback of the application or the OS") {
        auto a = w.anchors();
        a.minimumCounter = 6;
        expectRegion(verifyPackageForInstall(p, a), PackageRegion::Rollback,
                     QStringLiteral("application counter 5"));
        a = w.anchors();
        a.minimumOsCounter = 4;
        expectRegion(verifyPackageForInstall(p, a), PackageRegion::Rollback,
                     QStringLiteral("OS security counter 3"));
        a.minimumOsCounter = 3; // equal is the boot case: accepted
        CHECK(verifyPackageForInstall(p, a).ok());
    }
    SECTION("a package for another customer") {
        // Same vendor, same image key, another customer with its own application key.
        PackageWorld globex;
        globex.customer = QStringLiteral("globex-7");
        auto signedApp = buildSignedApp(globex.release(), test::pattern(99, 'g'), globex.app);
        REQUIRE(signedApp.ok());
        test::SoftSealer sealer(w.imageKey);
        QBuffer out;
        REQUIRE(out.open(QIODevice::WriteOnly));
        REQUIRE(writePackage(globex.input(*signedApp), sealer, &globex.app, out).ok());
        expectRegion(verifyPackageForInstall(out.data(), w.anchors()), PackageRegion::Customer,
                     QStringLiteral("globex-7"));
    }
    SECTION("a keystore from another customer, and one the vendor did not sign") {
        auto a = w.anchors();
        a.keystore = w.keystore(nullptr, QStringLiteral("globex-7"));
        expectRegion(verifyPackageForInstall(p, a), PackageRegion::Customer);
        SoftSigner impostor;
        a = w.anchors();
        a.vendorKeystoreKey = *firmware::PublicKey::parse(impostor.publicKeyDer());
        expectRegion(verifyPackageForInstall(p, a), PackageRegion::Keystore);
        a = w.anchors();
        a.keystore = w.keystore(&impostor); // right customer, other application key
        expectRegion(verifyPackageForInstall(p, a), PackageRegion::AppSignature,
                     QStringLiteral("key id"));
    }
    SECTION("another environment") {
        PackageWorld prod;
        prod.env = Environment::Production;
        prod.imageKey = w.imageKey;
        auto a = w.anchors(); // a development device
        auto signedApp = buildSignedApp(prod.release(), test::pattern(99, 'p'), w.app);
        REQUIRE(signedApp.ok());
        test::SoftSealer sealer(w.imageKey);
        QBuffer out;
        REQUIRE(out.open(QIODevice::WriteOnly));
        REQUIRE(writePackage(prod.input(*signedApp), sealer, nullptr, out).ok());
        expectRegion(verifyPackageForInstall(out.data(), a), PackageRegion::Environment);
        a.keystore = w.keystore(nullptr, {}, Environment::Production);
        CHECK(verifyPackageForInstall(out.data(), a).ok());
        expectRegion(verifyPackageForInstall(p, a), PackageRegion::Environment);
    }
    SECTION("hardware not in the compatibility lists") {
        auto a = w.anchors();
        a.hardwareId = QStringLiteral("KW-2 rev A");
        expectRegion(verifyPackageForInstall(p, a), PackageRegion::Hardware);
        a.hardwareId = QStringLiteral("KW-1 rev C"); // the app's list only, not the OS's
        expectRegion(verifyPackageForInstall(p, a), PackageRegion::Hardware,
                     QStringLiteral("OS's"));
    }
    SECTION("another device's image key") {
        auto a = w.anchors();
        a.otpImageKey = test::pattern(32, 'X');
        expectRegion(verifyPackageForInstall(p, a), PackageRegion::OsIv,
                     QStringLiteral("another image key"));
    }
}

TEST_CASE("lengths: truncated files, trailing bytes, oversized length fields", "[package]") {
    PackageWorld w;
    const QByteArray p = w.package();
    const auto a = w.anchors();
    for (qsizetype keep :
         {qsizetype(0), qsizetype(20), qsizetype(36), qsizetype(300), qsizetype(p.size() - 1)})
        expectRegion(verifyPackageForInstall(p.left(keep), a),
                     keep < 4 ? PackageRegion::Header : PackageRegion::Length);
    expectRegion(verifyPackageForInstall(p + 'x', a), PackageRegion::Length,
                 QStringLiteral("bytes after the end"));

    auto withField = [&](qsizetype at, QByteArray value) {
        QByteArray b = p;
        b.replace(at, value.size(), value);
        return b;
    };
    expectRegion(verifyPackageForInstall(withField(8, QByteArray(4, '\xff')), a),
                 PackageRegion::Header, QStringLiteral("manifest_length"));
    expectRegion(verifyPackageForInstall(withField(12, QByteArray(8, '\x7f')), a),
                 PackageRegion::Header, QStringLiteral("os_length"));
    expectRegion(verifyPackageForInstall(withField(20, QByteArray(8, '\xff')), a),
                 PackageRegion::Header, QStringLiteral("application_length"));
    expectRegion(verifyPackageForInstall(withField(28, QByteArray(8, '\xff')), a),
                 PackageRegion::Header, QStringLiteral("package_length"));

    // Inside the manifest, with the digests recomputed so the field checks are reached.
    const auto s = parsePackage(p)->spans;
    QByteArray b = p;
    const qsizetype lenAt = s.manifest.offset + s.manifest.size - 34;
    b[lenAt] = '\xff';
    b[lenAt + 1] = '\xff';
    expectRegion(verifyPackageForInstall(b, a), PackageRegion::Manifest,
                 QStringLiteral("app_manifest_length"));
    // component[1].size = 2^63: refused by the field check, before any use.
    const qsizetype comp1 = s.manifest.offset + 2 + 7 + 1 + 1 + 6 + 8 + 1 + 11 + 11 + 1 +
                            (1 + 10 + 1 + 7 + 8 + 8 + 32) + 1 + 6 + 1 + 6 + 8;
    b = p;
    REQUIRE(b.mid(comp1 - 21, 6) == QByteArray("kernel"));
    b.replace(comp1, 8, QByteArray("\x80\x00\x00\x00\x00\x00\x00\x00", 8));
    resealDigests(b);
    expectRegion(verifyPackageForInstall(b, a), PackageRegion::Manifest,
                 QStringLiteral("component[1]"));
    // The forged digests get past the structure, never past the tag.
    b = flipped(p, s.manifest.offset + 12); // inside os_version
    resealDigests(b);
    expectRegion(verifyPackageForInstall(b, a), PackageRegion::ManifestSignature);
}

TEST_CASE("a package larger than the maximum is refused before it is copied", "[package]") {
    PackageWorld w;
    const QByteArray small = w.package();
    // A view that claims more than 512 MiB: never read.
    const QByteArrayView huge(small.constData(), kMaxPackageBytes + 1);
    expectRegion(verifyPackageForInstall(huge, w.anchors()), PackageRegion::Length);
}
