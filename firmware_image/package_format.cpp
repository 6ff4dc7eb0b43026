// The package header and manifest: writer and strict reader (docs/package-format.md §2, §5).

#include "firmware_image/package_format.h"

namespace keyline::firmware {

using namespace pkg;

namespace {

const QByteArray kMagic = QByteArrayLiteral("KLPK");
constexpr quint16 kFormatVersion = 1;
constexpr qsizetype kMinManifestBytes = 64;

constexpr auto kHdr = PackageRegion::Header;
constexpr auto kMan = PackageRegion::Manifest;

Result<void> readComponents(Reader& r, PackageManifest& m) {
    quint8 count = 0;
    if (!r.num(&count))
        return bad(kMan, QStringLiteral("component_count"), QStringLiteral("truncated"));
    if (count == 0 || count > kMaxOsComponents)
        return bad(kMan, QStringLiteral("component_count"),
                   QStringLiteral("%1, expected 1 to %2").arg(count).arg(kMaxOsComponents));
    quint64 next = 0;
    for (int i = 0; i < count; ++i) {
        const QString field = QStringLiteral("component[%1]").arg(i);
        OsComponentEntry c;
        quint8 nameLen = 0, versionLen = 0;
        QByteArrayView name, version, hash;
        if (!r.num(&nameLen) || !r.take(nameLen, &name) || !r.num(&versionLen) ||
            !r.take(versionLen, &version) || !r.num(&c.offset) || !r.num(&c.size) ||
            !r.take(32, &hash))
            return bad(kMan, field, QStringLiteral("truncated"));
        if (!validComponentName(name) || !validVersion(version))
            return bad(kMan, field,
                       QStringLiteral("name must be 1 to 32 of a-z 0-9 . _ -, version 1 to 32 "
                                      "printable ASCII"));
        c.name = QString::fromLatin1(name);
        c.version = QString::fromLatin1(version);
        // Contiguous, in order, never empty: one layout per content, no overlap, no gap.
        if (c.offset != next || c.size == 0 || c.size > quint64(kMaxPackageBytes))
            return bad(kMan, field,
                       QStringLiteral("offset %1 size %2: components must follow each other "
                                      "without gap, each at least 1 byte")
                           .arg(c.offset)
                           .arg(c.size));
        next += c.size;
        for (const auto& earlier : m.components)
            if (earlier.name == c.name)
                return bad(kMan, field, QStringLiteral("name '%1' appears twice").arg(c.name));
        c.sha256 = hash.toByteArray();
        m.components.push_back(std::move(c));
    }
    return success();
}

} // namespace

namespace pkg {

QByteArray encodeHeader(const PackageHeader& h) {
    QByteArray out = kMagic;
    put<quint16>(out, kFormatVersion);
    out.append(char(h.environment));
    out.append(char(h.manifestSigned ? 1 : 0));
    put<quint32>(out, h.manifestLength);
    put<quint64>(out, h.osLength);
    put<quint64>(out, h.appLength);
    put<quint64>(out, h.packageLength);
    return out;
}

qint64 packageLengthFor(const PackageHeader& h) {
    return kPackageHeaderBytes + qint64(h.manifestLength) +
           (h.manifestSigned ? kSignatureBytes : 0) + kSignatureBytes + kOsIvBytes +
           qint64(h.osLength) + kOsTagBytes + qint64(h.appLength);
}

Result<QByteArray> encodeManifest(const PackageManifest& m) {
    auto invalid = [](const QString& why) {
        return Error(ErrorCode::InvalidArgument, QStringLiteral("package manifest: ") + why);
    };
    const QByteArray customer = m.customerId.toUtf8();
    const QByteArray osVersion = m.osVersion.toUtf8();
    if (!validCustomerId(customer))
        return invalid(QStringLiteral("customer ID must be 1 to 64 of A-Z a-z 0-9 . _ -"));
    if (!validVersion(osVersion))
        return invalid(QStringLiteral("OS version '%1' must be 1 to 32 printable ASCII, no space")
                           .arg(m.osVersion.left(40)));
    KL_TRY(checkHardwareList(m.osHardware, kMan, false));
    if (m.components.empty() || m.components.size() > std::size_t(kMaxOsComponents))
        return invalid(QStringLiteral("%1 OS components, expected 1 to %2")
                           .arg(m.components.size())
                           .arg(kMaxOsComponents));
    if (m.appManifestBytes.isEmpty() || m.appManifestBytes.size() > kMaxAppManifestBytes)
        return invalid(QStringLiteral("application manifest missing or too large"));
    QByteArray out;
    put<quint16>(out, quint16(customer.size()));
    out.append(customer);
    out.append(char(m.environment));
    out.append(char(osVersion.size()));
    out.append(osVersion);
    put<quint64>(out, m.osCounter);
    putHardware(out, m.osHardware);
    out.append(char(m.components.size()));
    quint64 next = 0;
    for (const auto& c : m.components) {
        const QByteArray name = c.name.toUtf8(), version = c.version.toUtf8();
        if (!validComponentName(name) || !validVersion(version) || c.sha256.size() != 32 ||
            c.offset != next || c.size == 0)
            return invalid(QStringLiteral("component '%1': name 1-32 of a-z 0-9 . _ -, version "
                                          "1-32 printable ASCII, contiguous, not empty")
                               .arg(c.name.left(40)));
        next += c.size;
        out.append(char(name.size()));
        out.append(name);
        out.append(char(version.size()));
        out.append(version);
        put<quint64>(out, c.offset);
        put<quint64>(out, c.size);
        out.append(c.sha256);
    }
    // The application manifest goes last, behind its hash and before its length, so a reader
    // finds it from the end and checks both digests before it parses a single field.
    out.append(sha256(m.appManifestBytes));
    const QByteArray fieldsAndHash = out;
    out.append(m.appManifestBytes);
    QByteArray length;
    put<quint16>(length, quint16(m.appManifestBytes.size()));
    out.append(length);
    out.append(sha256(fieldsAndHash + length)); // the manifest check digest (spec §5)
    if (out.size() > kMaxManifestBytes)
        return invalid(
            QStringLiteral("%1 bytes, at most %2").arg(out.size()).arg(kMaxManifestBytes));
    return out;
}

Result<PackageLayout> parseLayout(QByteArrayView bytes) {
    if (bytes.size() > kMaxPackageBytes)
        return bad(PackageRegion::Length, QStringLiteral("size"),
                   QStringLiteral("%1 bytes, a package is at most %2")
                       .arg(bytes.size())
                       .arg(kMaxPackageBytes));
    Reader r(bytes);
    QByteArrayView magic;
    if (!r.take(4, &magic) || magic != kMagic)
        return bad(kHdr, QStringLiteral("magic"),
                   QStringLiteral("not a Keyline package (\"KLPK\")"));
    quint16 version = 0;
    quint8 env = 0, sigAlg = 0;
    PackageHeader h;
    if (!r.num(&version) || !r.num(&env) || !r.num(&sigAlg) || !r.num(&h.manifestLength) ||
        !r.num(&h.osLength) || !r.num(&h.appLength) || !r.num(&h.packageLength))
        return bad(PackageRegion::Length, QStringLiteral("header"), QStringLiteral("truncated"));
    if (version != kFormatVersion)
        return bad(kHdr, QStringLiteral("format_version"),
                   QStringLiteral("%1, this reader knows %2").arg(version).arg(kFormatVersion));
    if (env != quint8(Environment::Development) && env != quint8(Environment::Production))
        return bad(kHdr, QStringLiteral("environment"),
                   QStringLiteral("%1 is not 1 or 2").arg(env));
    h.environment = Environment(env);
    // Development packages carry the manifest signature, production ones never (the station
    // does not hold a customer's key): the header says which, and it must agree.
    const quint8 wantAlg = h.environment == Environment::Development ? 1 : 0;
    if (sigAlg != wantAlg)
        return bad(kHdr, QStringLiteral("manifest_signature_algorithm"),
                   QStringLiteral("%1, a %2 package has %3")
                       .arg(sigAlg)
                       .arg(environmentName(h.environment))
                       .arg(wantAlg));
    h.manifestSigned = sigAlg == 1;
    if (h.manifestLength < kMinManifestBytes || h.manifestLength > kMaxManifestBytes)
        return bad(kHdr, QStringLiteral("manifest_length"),
                   QStringLiteral("%1 bytes, expected %2 to %3")
                       .arg(h.manifestLength)
                       .arg(kMinManifestBytes)
                       .arg(kMaxManifestBytes));
    if (h.osLength == 0 || h.osLength > quint64(kMaxPackageBytes))
        return bad(
            kHdr, QStringLiteral("os_length"),
            QStringLiteral("%1 bytes, expected 1 to %2").arg(h.osLength).arg(kMaxPackageBytes));
    if (h.appLength == 0 || h.appLength > quint64(kMaxApplicationBytes))
        return bad(kHdr, QStringLiteral("application_length"),
                   QStringLiteral("%1 bytes, expected 1 to %2")
                       .arg(h.appLength)
                       .arg(kMaxApplicationBytes));
    if (h.packageLength > quint64(kMaxPackageBytes))
        return bad(
            kHdr, QStringLiteral("package_length"),
            QStringLiteral("%1 bytes, at most %2").arg(h.packageLength).arg(kMaxPackageBytes));
    // All terms are bounded above, so the sum cannot overflow.
    if (qint64(h.packageLength) != packageLengthFor(h))
        return bad(kHdr, QStringLiteral("package_length"),
                   QStringLiteral("%1 does not equal the sum of the region lengths (%2)")
                       .arg(h.packageLength)
                       .arg(packageLengthFor(h)));
    if (qint64(h.packageLength) != bytes.size())
        return bad(PackageRegion::Length, QStringLiteral("package_length"),
                   QStringLiteral("the header says %1 bytes, the file has %2 (%3)")
                       .arg(h.packageLength)
                       .arg(bytes.size())
                       .arg(bytes.size() < qint64(h.packageLength)
                                ? QStringLiteral("truncated")
                                : QStringLiteral("bytes after the end")));

    PackageLayout l;
    l.environment = h.environment;
    l.manifestSigned = h.manifestSigned;
    qsizetype at = 0;
    auto span = [&](qsizetype n) {
        Span s{at, n};
        at += n;
        return s;
    };
    l.spans.header = span(kPackageHeaderBytes);
    l.spans.manifest = span(qsizetype(h.manifestLength));
    l.spans.manifestSignature = span(h.manifestSigned ? kSignatureBytes : 0);
    l.spans.appSignature = span(kSignatureBytes);
    l.spans.osIv = span(kOsIvBytes);
    l.spans.os = span(qsizetype(h.osLength));
    l.spans.osTag = span(kOsTagBytes);
    l.spans.application = span(qsizetype(h.appLength));

    // The manifest: both digests first (they localise damage, spec §5), then every field.
    const QByteArrayView mb = bytes.sliced(l.spans.manifest.offset, l.spans.manifest.size);
    const qsizetype lenAt = mb.size() - 32 - 2;
    const quint16 appLen = qFromBigEndian<quint16>(mb.data() + lenAt);
    if (appLen == 0 || appLen > kMaxAppManifestBytes || qsizetype(appLen) + 32 > lenAt)
        return bad(kMan, QStringLiteral("app_manifest_length"),
                   QStringLiteral("%1 bytes does not fit the manifest").arg(appLen));
    const qsizetype appAt = lenAt - appLen;
    const QByteArray covered = mb.first(appAt).toByteArray() + mb.sliced(lenAt, 2).toByteArray();
    if (sha256(covered) != mb.sliced(lenAt + 2, 32))
        return bad(kMan, QStringLiteral("manifest_check"),
                   QStringLiteral("the manifest does not match its check digest: changed or "
                                  "damaged"));
    const QByteArrayView app = mb.sliced(appAt, appLen);
    if (sha256(app) != mb.sliced(appAt - 32, 32))
        return bad(PackageRegion::AppManifest, QStringLiteral("app_manifest"),
                   QStringLiteral("does not match the app_manifest_sha256 in the manifest: "
                                  "changed or damaged"));
    l.spans.appManifest = Span{l.spans.manifest.offset + appAt, appLen};
    Reader m(mb.first(appAt - 32));
    PackageManifest& man = l.manifest;
    quint16 idLen = 0;
    QByteArrayView id, osVersion;
    if (!m.num(&idLen) || !m.take(idLen, &id))
        return bad(kMan, QStringLiteral("customer_id"), QStringLiteral("truncated"));
    if (!validCustomerId(id))
        return bad(kMan, QStringLiteral("customer_id"),
                   QStringLiteral("must be 1 to 64 of A-Z a-z 0-9 . _ -"));
    man.customerId = QString::fromLatin1(id);
    quint8 menv = 0, vLen = 0;
    if (!m.num(&menv))
        return bad(kMan, QStringLiteral("environment"), QStringLiteral("truncated"));
    if (menv != quint8(Environment::Development) && menv != quint8(Environment::Production))
        return bad(kMan, QStringLiteral("environment"),
                   QStringLiteral("%1 is not 1 or 2").arg(menv));
    man.environment = Environment(menv);
    if (!m.num(&vLen) || !m.take(vLen, &osVersion))
        return bad(kMan, QStringLiteral("os_version"), QStringLiteral("truncated"));
    if (!validVersion(osVersion))
        return bad(kMan, QStringLiteral("os_version"),
                   QStringLiteral("must be 1 to 32 printable ASCII, no space"));
    man.osVersion = QString::fromLatin1(osVersion);
    if (!m.num(&man.osCounter))
        return bad(kMan, QStringLiteral("os_counter"), QStringLiteral("truncated"));
    KL_TRY_ASSIGN(man.osHardware, readHardware(m, kMan));
    KL_TRY(readComponents(m, man));
    if (m.left() != 0)
        return bad(kMan, QStringLiteral("end"),
                   QStringLiteral("%1 bytes between the components and app_manifest_sha256")
                       .arg(m.left()));
    KL_TRY_ASSIGN(man.app, parseAppManifest(app));
    man.appManifestBytes = app.toByteArray();

    // Cross-checks. The manifest is intact (its digests matched): a disagreement is the
    // header's fault.
    const auto blame = kHdr;
    if (man.environment != h.environment || man.app.environment != h.environment)
        return bad(blame, QStringLiteral("environment"),
                   QStringLiteral("header says %1, manifest %2, application manifest %3")
                       .arg(environmentName(h.environment), environmentName(man.environment),
                            environmentName(man.app.environment)));
    const auto& last = man.components.back();
    if (last.offset + last.size != h.osLength)
        return bad(blame, QStringLiteral("os_length"),
                   QStringLiteral("%1, the components add up to %2")
                       .arg(h.osLength)
                       .arg(last.offset + last.size));
    if (man.app.appSize != h.appLength)
        return bad(blame, QStringLiteral("application_length"),
                   QStringLiteral("%1, the application manifest says %2")
                       .arg(h.appLength)
                       .arg(man.app.appSize));
    for (const auto& c : man.components)
        l.spans.components.push_back(
            Span{l.spans.os.offset + qsizetype(c.offset), qsizetype(c.size)});
    return l;
}

} // namespace pkg

Result<PackageLayout> parsePackage(QByteArrayView bytes) {
    return pkg::parseLayout(bytes);
}

} // namespace keyline::firmware
