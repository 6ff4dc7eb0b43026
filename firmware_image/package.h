#pragma once

// The OS + application package: what the station flashes and what the device installs and
// re-verifies at every boot. Format and rationale: docs/package-format.md.
//
// Two authorities, two kinds of protection:
//  - the vendor (station) side — header, package manifest, OS — is authenticated by AES-256-GCM
//    with the image key (inside the HSM on the station, from OTP on the device); the AAD is
//    every byte before the OS IV, so the tag binds header, manifest, signatures and OS together;
//  - the customer side — the application — is covered by the application manifest, signed by
//    the customer's application signing key (the one in the customer keystore). In development
//    the station holds that key (the common development key) and also signs the whole manifest.
//
// This library does not link the HSM: sealing goes through OsSealer (station/package_sealer.h
// adapts hsm::Hsm), signing through keyline::Signer.

#include "common/result.h"
#include "common/signer.h"
#include "firmware_image/keystore.h"

#include <QByteArray>
#include <QByteArrayView>
#include <QIODevice>
#include <QStringList>
#include <memory>
#include <optional>
#include <vector>

namespace keyline::firmware {

// Where in a package something is wrong. Error::detail() of every package refusal is one of
// these (as int), and the message starts with "package region '<name>'".
enum class PackageRegion : int {
    None = 0,
    Length,            // the file's size disagrees with the header, or exceeds the maximum
    Header,            // the fixed header
    Manifest,          // the package manifest (structure or its check digest)
    ManifestSignature, // the development signature over header + manifest
    AppManifest,       // the application manifest embedded in the package manifest
    AppSignature,      // the customer's signature over the application manifest
    Application,       // the application image (its SHA-256 is in the application manifest)
    OsIv,              // the GCM IV: nothing decrypts (changed IV, or another image key)
    OsComponent,       // one OS component: the message names it
    OsTag,             // the GCM tag (or, on the station, any change the HSM cannot localise)
    Keystore,          // the keystore the device holds does not verify with the vendor key
    Rollback,          // a counter lower than the one the device holds
    Customer,          // the package is for another customer than the keystore
    Environment,       // dev/prod mismatch, or a development key where production is required
    Hardware,          // the device's hardware revision is not in a compatibility list
};

QString regionName(PackageRegion r); // "header", "manifest-signature", "os-component", ...
// The region a package refusal names, None for any other error.
PackageRegion regionOf(const Error& e);

// Limits (the parser checks every length against them before use).
inline constexpr qint64 kMaxPackageBytes = 512LL * 1024 * 1024;
inline constexpr qint64 kMaxApplicationBytes = 256LL * 1024 * 1024;
inline constexpr qsizetype kMaxManifestBytes = 64 * 1024;
inline constexpr qsizetype kMaxAppManifestBytes = 4 * 1024;
inline constexpr int kMaxOsComponents = 32;
inline constexpr int kMaxHardwareEntries = 16;
inline constexpr qsizetype kPackageHeaderBytes = 36;
inline constexpr qsizetype kSignatureBytes = 64; // ECDSA P-256 r ‖ s, 32 bytes each
inline constexpr qsizetype kOsIvBytes = 12;
inline constexpr qsizetype kOsTagBytes = 16;

// Domain separation: every signed message starts with one of these (NUL included), distinct
// from the keystore's (which signs its raw bytes, starting "KLKS").
inline constexpr char kAppManifestContext[] = "keyline-app-manifest-v1"; // + '\0'
inline constexpr char kPackageManifestContext[] = "keyline-package-manifest-v1";

// ---- The application manifest (customer side) -------------------------------------------

struct AppManifest {
    QString customerId;
    Environment environment = Environment::Development;
    QString name;           // 1-64 of A-Z a-z 0-9 . _ -
    QString version;        // 1-32 printable ASCII, no space
    quint64 counter = 0;    // anti-rollback: a device installs only counter >= the one it holds
    QStringList hardware;   // compatible hardware revisions (1-16, each 1-64 printable ASCII)
    quint64 appSize = 0;    // bytes of the application image
    QByteArray appSha256;   // 32 bytes
    QByteArray signerKeyId; // SHA-256 of the signer's DER SubjectPublicKeyInfo
};

Result<QByteArray> encodeAppManifest(const AppManifest& m); // InvalidArgument on a bad field
Result<AppManifest> parseAppManifest(QByteArrayView bytes); // BadInput, region app-manifest

// A "signed app" file (KLSA): the customer's deliverable in production. Layout in the spec.
struct SignedApp {
    AppManifest manifest;
    QByteArray manifestBytes; // exactly the bytes that were signed (after the context string)
    QByteArray signature;     // 64 bytes r ‖ s
    QByteArray image;         // the application image
};

// What the customer decides; size, hash and signer key id are filled in by buildSignedApp.
struct AppRelease {
    QString customerId;
    Environment environment = Environment::Development;
    QString name;
    QString version;
    quint64 counter = 0;
    QStringList hardware;
};

// Hashes `image`, encodes and signs the application manifest with `signer` (the customer's
// application signing key, or in development the common development key in the HSM), and
// returns the signed-app file. Verifies its own output.
Result<QByteArray> buildSignedApp(const AppRelease& release, const QByteArray& image,
                                  const Signer& signer);
// Structure only (BadInput naming the region/field).
Result<SignedApp> parseSignedApp(const QByteArray& bytes);
// Structure, image hash, signer key id and signature against `appKey` (65-byte point, PEM or
// DER SPKI), e.g. the keystore's application signing key.
Result<SignedApp> verifySignedApp(const QByteArray& bytes, const QByteArray& appKey);

// ---- The package --------------------------------------------------------------------------

struct OsComponentEntry {
    QString name;       // 1-32 of a-z 0-9 . _ -
    QString version;    // 1-32 printable ASCII, no space
    quint64 offset = 0; // in the OS plaintext (components are concatenated in manifest order)
    quint64 size = 0;
    QByteArray sha256; // of the plaintext component
};

struct PackageManifest {
    QString customerId;
    Environment environment = Environment::Development;
    QString osVersion;
    quint64 osCounter = 0; // the vendor's OS security counter (anti-rollback for the OS)
    QStringList osHardware;
    std::vector<OsComponentEntry> components;
    QByteArray appManifestBytes;
    AppManifest app;
};

// Byte ranges of a parsed package, for reports and tests.
struct Span {
    qsizetype offset = 0;
    qsizetype size = 0;
};
struct PackageSpans {
    Span header, manifest, appManifest, manifestSignature, appSignature, osIv, os, osTag,
        application;
    std::vector<Span> components; // ciphertext ranges, in manifest order (GCM: same offsets)
};
struct PackageLayout {
    Environment environment = Environment::Development;
    bool manifestSigned = false; // a development package carries a manifest signature
    PackageSpans spans;
    PackageManifest manifest;
};

// Strict structure only: lengths, limits, field rules, cross-checks between header and
// manifest, the manifest check digest. No key is needed. BadInput with the region as detail.
Result<PackageLayout> parsePackage(QByteArrayView bytes);

// The OS sealing seam (AES-256-GCM with the image key inside the HSM on the station).
class OsSealStream {
public:
    virtual ~OsSealStream() = default;
    virtual QByteArray iv() const = 0; // 12 bytes chosen by the sealer (the HSM)
    virtual Result<QByteArray> update(QByteArrayView plaintext) = 0;
    struct Tail {
        QByteArray ciphertext;
        QByteArray tag; // 16 bytes
    };
    virtual Result<Tail> finish() = 0;
};
class OsSealer {
public:
    virtual ~OsSealer() = default;
    virtual Result<std::unique_ptr<OsSealStream>> begin(const QByteArray& aad) = 0;
};

// The station-side opening seam (HSM AES-GCM decryption; plaintext is only hashed).
class OsOpenStream {
public:
    virtual ~OsOpenStream() = default;
    // Plaintext so far: NOT authentic until finish() succeeds.
    virtual Result<QByteArray> update(QByteArrayView ciphertext) = 0;
    virtual Result<QByteArray> finish() = 0; // VerificationFailed when the tag does not match
};
class OsOpener {
public:
    virtual ~OsOpener() = default;
    virtual Result<std::unique_ptr<OsOpenStream>> begin(const QByteArray& iv, const QByteArray& aad,
                                                        const QByteArray& tag) = 0;
};

struct OsComponentInput {
    QString name;
    QString version;
    QByteArray data; // plaintext
};

struct PackageInput {
    QString osVersion;
    quint64 osCounter = 0;
    QStringList osHardware;
    std::vector<OsComponentInput> components;
    QByteArray signedApp; // a KLSA file: from the customer (prod) or buildSignedApp (dev)
};

struct PackageSummary {
    qint64 bytes = 0;
    QByteArray measurement; // SHA-256 of header ‖ manifest (what a boot report names)
    PackageManifest manifest;
};

// Writes the package to `out` in one sequential pass: header, manifest, signatures, then the
// OS encrypted in 2 MiB chunks straight to `out`, the tag, the application. Customer ID and
// environment come from the signed app. `manifestSigner` is required in development (it must
// be the key that signed the app: the common development key) and refused in production.
Result<PackageSummary> writePackage(const PackageInput& input, OsSealer& sealer,
                                    const Signer* manifestSigner, QIODevice& out);

// ---- Verification -------------------------------------------------------------------------

// What the device holds: everything it trusts a package against.
struct DeviceTrustAnchors {
    QByteArray otpImageKey;       // 32 raw bytes: the image decryption key from OTP
    PublicKey vendorKeystoreKey;  // vendor keystore signing key, parsed once
    QByteArray keystore;          // the keystore the device stores (verified here again)
    QString hardwareId;           // the device's hardware revision, e.g. "KW-1 rev B"
    quint64 minimumCounter = 0;   // application anti-rollback counter the device holds
    quint64 minimumOsCounter = 0; // OS security counter the device holds
};

struct ComponentMeasurement {
    QString name;
    QString version;
    QByteArray sha256; // measured over the decrypted, authenticated plaintext
};

struct VerifiedPackage {
    PackageManifest manifest;
    QByteArray measurement;       // SHA-256 of header ‖ manifest
    QByteArray applicationSha256; // measured over the application bytes
    std::vector<ComponentMeasurement> components;
    QString osVersion, appVersion;
    quint64 osCounter = 0, appCounter = 0;
};

// The device's check before it installs: keystore (vendor key), structure, customer and
// environment against the keystore, application signature with the keystore's application key,
// the development manifest signature, the application hash, rollback, hardware, then the OS
// decrypted with the OTP key (EVP AES-256-GCM) and every component hash. The package is copied
// once first and every check reads that copy, so a buffer changed by someone else during the
// check cannot pass. `osImage`, when given, receives the OS plaintext only after the tag and
// every component hash verified. Refusals: BadInput (structure) or VerificationFailed (crypto,
// policy), detail() = PackageRegion.
Result<VerifiedPackage> verifyPackageForInstall(QByteArrayView packageBytes,
                                                const DeviceTrustAnchors& anchors,
                                                QByteArray* osImage = nullptr);

// At boot the device re-verifies the installed package with the same rules (the counters it
// holds were raised to the installed ones, so >= passes); the measurement goes into the boot
// report.
inline Result<VerifiedPackage> measureBoot(QByteArrayView installedPackage,
                                           const DeviceTrustAnchors& anchors) {
    return verifyPackageForInstall(installedPackage, anchors);
}

// Station side (`keyline package verify`): what can be checked without the device's secrets.
struct StationVerifyOptions {
    QByteArray keystore;               // empty: signatures not checked
    QByteArray vendorKey;              // needed with keystore
    QList<QByteArray> developmentKeys; // when known: prod must not use them, dev only them
    OsOpener* opener = nullptr;        // null: the OS tag is not checked
};
struct RegionCheck {
    QString region;
    QString result; // "PASS", "FAIL", "not-checked"
    QString reason;
};
struct StationVerifyReport {
    std::optional<PackageLayout> layout;
    std::vector<RegionCheck> checks;
    std::optional<Error> failure; // the first failure (its detail() is the region)
    bool pass() const { return !failure.has_value(); }
};
StationVerifyReport verifyPackage(QByteArrayView bytes, const StationVerifyOptions& options);

} // namespace keyline::firmware
