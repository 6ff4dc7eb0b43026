// Reads the firmware tree and application directories (firmware_image/README.md).

#include "firmware_image/firmware_tree.h"

#include "common/ossl_ptr.h"
#include "firmware_image/package_internal.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <openssl/evp.h>

namespace keyline::firmware {

namespace {

constexpr qint64 kMaxJsonBytes = 64 * 1024;
const QByteArray kArchiveMagic = QByteArrayLiteral("KLAR");
constexpr quint16 kArchiveVersion = 1;

Error treeError(const QString& where, const QString& why) {
    return Error(ErrorCode::BadInput, QStringLiteral("%1: %2").arg(where, why));
}

Result<QByteArray> readBounded(const QString& path, qint64 maxBytes) {
    const QFileInfo info(path);
    if (info.isSymLink() || !info.isFile())
        return treeError(path, QStringLiteral("not a regular file"));
    if (info.size() > maxBytes)
        return treeError(path,
                         QStringLiteral("%1 bytes, at most %2").arg(info.size()).arg(maxBytes));
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return treeError(path, f.errorString());
    QByteArray data = f.read(maxBytes + 1);
    if (data.size() > maxBytes)
        return treeError(path, QStringLiteral("grew while being read"));
    return data;
}

Result<QJsonObject> readJson(const QString& path) {
    KL_TRY_ASSIGN(const QByteArray text, readBounded(path, kMaxJsonBytes));
    QJsonParseError err{};
    const QJsonDocument doc = QJsonDocument::fromJson(text, &err);
    if (err.error != QJsonParseError::NoError || !doc.isObject())
        return treeError(path, QStringLiteral("not a JSON object (%1)").arg(err.errorString()));
    return doc.object();
}

// A whole number in [min, max]; JSON numbers are doubles, exact to 2^53.
Result<qint64> integer(const QJsonObject& o, const QString& key, qint64 min, qint64 max,
                       const QString& where) {
    const QJsonValue v = o.value(key);
    const double d = v.toDouble(-1);
    if (!v.isDouble() || d < double(min) || d > double(max) || d != double(qint64(d)))
        return treeError(
            where,
            QStringLiteral("'%1' must be a whole number from %2 to %3").arg(key).arg(min).arg(max));
    return qint64(d);
}

Result<QStringList> hardwareList(const QJsonObject& o, const QString& where) {
    QStringList list;
    for (const QJsonValue& v : o.value(QStringLiteral("hardware")).toArray())
        list << v.toString();
    std::sort(list.begin(), list.end());
    list.removeDuplicates();
    if (auto ok = pkg::checkHardwareList(list, PackageRegion::Manifest, false); !ok.ok())
        return treeError(where, ok.error().message());
    return list;
}

// A path named in the manifest, resolved inside `root` only.
Result<QString> insideTree(const QString& root, const QString& relative, const QString& where) {
    if (relative.isEmpty() || QDir::isAbsolutePath(relative) ||
        relative.split(QLatin1Char('/')).contains(QStringLiteral("..")))
        return treeError(where, QStringLiteral("file '%1' must be a relative path inside the tree")
                                    .arg(relative.left(80)));
    return QDir(root).filePath(relative);
}

Result<OsComponentInput> readComponent(const QString& root, const QJsonObject& c, int index) {
    const QString where = QStringLiteral("manifest.json component[%1]").arg(index);
    OsComponentInput out;
    out.name = c.value(QStringLiteral("name")).toString();
    out.version = c.value(QStringLiteral("version")).toString();
    if (!pkg::validComponentName(out.name.toUtf8()) || !pkg::validVersion(out.version.toUtf8()))
        return treeError(where, QStringLiteral("name must be 1-32 of a-z 0-9 . _ -, version 1-32 "
                                               "printable ASCII without space"));
    const bool isFile = c.contains(QStringLiteral("file"));
    const bool isGenerated = c.contains(QStringLiteral("generate"));
    if (isFile == isGenerated)
        return treeError(where, QStringLiteral("needs exactly one of 'file' and 'generate'"));
    if (isFile) {
        KL_TRY_ASSIGN(const QString path,
                      insideTree(root, c.value(QStringLiteral("file")).toString(), where));
        KL_TRY_ASSIGN(out.data, readBounded(path, kMaxComponentBytes));
    } else {
        const QJsonObject g = c.value(QStringLiteral("generate")).toObject();
        if (g.value(QStringLiteral("algorithm")).toString() != QLatin1String("aes-256-ctr"))
            return treeError(where, QStringLiteral("generate.algorithm must be \"aes-256-ctr\""));
        const QString seed = g.value(QStringLiteral("seed")).toString();
        if (seed.isEmpty())
            return treeError(where, QStringLiteral("generate.seed must be a non-empty string"));
        KL_TRY_ASSIGN(const qint64 size,
                      integer(g, QStringLiteral("size"), 1, kMaxComponentBytes, where));
        KL_TRY_ASSIGN(out.data, generatePayload(seed, size));
    }
    if (out.data.isEmpty())
        return treeError(where, QStringLiteral("component '%1' is empty").arg(out.name));
    return out;
}

} // namespace

Result<QByteArray> generatePayload(const QString& seed, qint64 size) {
    if (size < 0 || size > kMaxComponentBytes)
        return Error(ErrorCode::InvalidArgument, QStringLiteral("payload size out of range"));
    const QByteArray key = pkg::sha256(seed.toUtf8());
    const unsigned char iv[16] = {};
    OsslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free> ctx(EVP_CIPHER_CTX_new());
    if (!ctx ||
        EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_ctr(), nullptr,
                           reinterpret_cast<const unsigned char*>(key.constData()), iv) != 1)
        return Error(ErrorCode::Internal, QStringLiteral("AES-256-CTR unavailable"));
    // The keystream is the encryption of zeros, in place.
    QByteArray out(qsizetype(size), '\0');
    auto* p = reinterpret_cast<unsigned char*>(out.data());
    constexpr qint64 kChunk = 1 << 30;
    for (qint64 at = 0; at < size; at += kChunk) {
        int len = 0;
        const int n = int(std::min(kChunk, size - at));
        if (EVP_EncryptUpdate(ctx.get(), p + at, &len, p + at, n) != 1 || len != n)
            return Error(ErrorCode::Internal, QStringLiteral("AES-256-CTR failed"));
    }
    return out;
}

Result<FirmwareTree> readFirmwareTree(const QString& dir) {
    FirmwareTree t;
    t.root = QFileInfo(dir).absoluteFilePath();
    if (!QFileInfo(t.root).isDir())
        return treeError(dir, QStringLiteral("not a directory (expected a firmware tree with "
                                             "manifest.json)"));
    const QString manifestPath = QDir(t.root).filePath(QStringLiteral("manifest.json"));
    KL_TRY_ASSIGN(const QJsonObject top, readJson(manifestPath));
    const QString where = QStringLiteral("manifest.json");
    KL_TRY_ASSIGN(const qint64 format, integer(top, QStringLiteral("format"), 1, 1, where));
    (void)format;
    const QJsonObject os = top.value(QStringLiteral("os")).toObject();
    t.osName = os.value(QStringLiteral("name")).toString();
    KL_TRY_ASSIGN(const qint64 counter, integer(os, QStringLiteral("security_counter"), 0,
                                                qint64(1) << 53, where + QStringLiteral(" os")));
    t.osCounter = quint64(counter);
    KL_TRY_ASSIGN(t.osHardware, hardwareList(os, where + QStringLiteral(" os")));
    const QJsonArray components = os.value(QStringLiteral("components")).toArray();
    if (components.isEmpty() || components.size() > kMaxOsComponents)
        return treeError(where,
                         QStringLiteral("os.components: 1 to %1 entries").arg(kMaxOsComponents));
    qint64 total = 0;
    for (int i = 0; i < components.size(); ++i) {
        KL_TRY_ASSIGN(OsComponentInput c, readComponent(t.root, components[i].toObject(), i));
        for (const auto& earlier : t.components)
            if (earlier.name == c.name)
                return treeError(where, QStringLiteral("component '%1' appears twice").arg(c.name));
        total += c.data.size();
        if (total > kMaxOsBytes)
            return treeError(where,
                             QStringLiteral("the OS is larger than %1 bytes").arg(kMaxOsBytes));
        t.components.push_back(std::move(c));
    }
    KL_TRY_ASSIGN(const QString app,
                  insideTree(t.root, top.value(QStringLiteral("application")).toString(), where));
    t.applicationDir = QFileInfo(app).absoluteFilePath();
    return t;
}

Result<AppDirectory> readAppDirectory(const QString& dir) {
    const QString root = QFileInfo(dir).absoluteFilePath();
    if (!QFileInfo(root).isDir())
        return treeError(dir, QStringLiteral("not an application directory"));
    const QString where = QStringLiteral("%1/keyline-app.json").arg(dir);
    KL_TRY_ASSIGN(const QJsonObject meta,
                  readJson(QDir(root).filePath(QStringLiteral("keyline-app.json"))));
    AppDirectory a;
    a.name = meta.value(QStringLiteral("name")).toString();
    a.version = meta.value(QStringLiteral("version")).toString();
    if (!pkg::validAppName(a.name.toUtf8()) || !pkg::validVersion(a.version.toUtf8()))
        return treeError(where, QStringLiteral("name must be 1-64 of A-Z a-z 0-9 . _ -, version "
                                               "1-32 printable ASCII without space"));
    KL_TRY_ASSIGN(const qint64 counter,
                  integer(meta, QStringLiteral("counter"), 0, qint64(1) << 53, where));
    a.counter = quint64(counter);
    KL_TRY_ASSIGN(a.hardware, hardwareList(meta, where));

    // Every regular file, sorted by relative path: one directory, one image.
    QStringList files;
    QDirIterator it(root, QDir::Files | QDir::Hidden | QDir::System | QDir::NoSymLinks,
                    QDirIterator::Subdirectories);
    while (it.hasNext())
        files << QDir(root).relativeFilePath(it.next());
    std::sort(files.begin(), files.end(),
              [](const QString& x, const QString& y) { return x.toUtf8() < y.toUtf8(); });
    if (files.size() > kMaxAppFiles)
        return treeError(
            dir, QStringLiteral("%1 files, at most %2").arg(files.size()).arg(kMaxAppFiles));
    a.image = kArchiveMagic;
    pkg::put<quint16>(a.image, kArchiveVersion);
    pkg::put<quint32>(a.image, quint32(files.size()));
    for (const QString& rel : files) {
        const QByteArray path = rel.toUtf8();
        if (path.size() > 1024)
            return treeError(dir, QStringLiteral("path too long: %1").arg(rel.left(80)));
        KL_TRY_ASSIGN(const QByteArray data,
                      readBounded(QDir(root).filePath(rel), kMaxApplicationBytes - a.image.size()));
        pkg::put<quint16>(a.image, quint16(path.size()));
        a.image.append(path);
        pkg::put<quint64>(a.image, quint64(data.size()));
        a.image.append(data);
    }
    return a;
}

} // namespace keyline::firmware
