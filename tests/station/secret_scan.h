#pragma once

// A scanner for secrets in what a station leaves behind: each secret is looked for raw, as hex
// (lower, upper, colon-separated) and as base64 (standard and URL-safe, at each of the three
// alignments it can have inside a longer base64 text, also across PEM line breaks), and every
// file may hold no PEM "PRIVATE KEY" block at all. A finding names the secret, the file, the
// offset and the form, never the secret itself, so a failing test prints nothing it must not.

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QList>
#include <QSet>
#include <QString>

namespace keyline::test {

struct Secret {
    QString name; // what it is, for the finding ("HSM user PIN"); never the value
    QByteArray bytes;
};

struct SecretFinding {
    QString secret;
    QString where;
    qsizetype offset = 0;
    QString form;
    QString text() const {
        return QStringLiteral("%1 at offset %2 of %3 (%4)")
            .arg(secret)
            .arg(offset)
            .arg(where, form);
    }
};

// The characters of base64(prefix + bytes) that depend on `bytes` alone, for a prefix of
// `alignment` bytes: how `bytes` look inside any base64 text at that alignment.
inline QByteArray base64Core(const QByteArray& bytes, int alignment,
                             QByteArray::Base64Options options) {
    const QByteArray encoded = (QByteArray(alignment, '\0') + bytes).toBase64(options);
    const qsizetype first = (8 * alignment + 5) / 6;
    const qsizetype last = (8 * (alignment + bytes.size()) - 6) / 6; // inclusive
    return last >= first ? encoded.mid(first, last - first + 1) : QByteArray();
}

// Every form of one secret worth looking for, with its name. Base64 fragments shorter than 8
// characters would match by chance and are left out (the secrets here are longer).
inline QList<std::pair<QString, QByteArray>> secretForms(const QByteArray& bytes) {
    QList<std::pair<QString, QByteArray>> forms{
        {QStringLiteral("raw"), bytes},
        {QStringLiteral("hex"), bytes.toHex()},
        {QStringLiteral("HEX"), bytes.toHex().toUpper()},
        {QStringLiteral("hex with colons"), bytes.toHex(':')},
        {QStringLiteral("HEX with colons"), bytes.toHex(':').toUpper()},
    };
    for (int alignment = 0; alignment < 3; ++alignment)
        for (const auto& [name, option] :
             {std::pair{QStringLiteral("base64"), QByteArray::Base64Encoding},
              std::pair{QStringLiteral("base64url"), QByteArray::Base64UrlEncoding}}) {
            const QByteArray core = base64Core(bytes, alignment, option);
            if (core.size() >= 8)
                forms.append({QStringLiteral("%1 at alignment %2").arg(name).arg(alignment), core});
        }
    return forms;
}

inline QList<SecretFinding> scanBytes(const QString& where, const QByteArray& data,
                                      const QList<Secret>& secrets) {
    QList<SecretFinding> findings;
    // PEM and other text wrap base64 at line ends, and JSON escapes those line breaks (and
    // may escape '/'): look again with the line breaks removed and the escapes undone
    // (offsets there count in the unwrapped text).
    QByteArray unwrapped = data;
    unwrapped.replace("\r", "").replace("\n", "");
    unwrapped.replace("\\r", "").replace("\\n", "").replace("\\/", "/");
    const bool wrapped = unwrapped.size() != data.size();
    for (const Secret& s : secrets) {
        if (s.bytes.isEmpty())
            continue;
        QSet<QByteArray> seen; // a short secret's forms may coincide
        for (const auto& [form, needle] : secretForms(s.bytes)) {
            if (needle.isEmpty() || seen.contains(needle))
                continue;
            seen.insert(needle);
            if (const qsizetype at = data.indexOf(needle); at >= 0)
                findings.append({s.name, where, at, form});
            else if (wrapped)
                if (const qsizetype at2 = unwrapped.indexOf(needle); at2 >= 0)
                    findings.append(
                        {s.name, where, at2, form + QStringLiteral(", line breaks removed")});
        }
    }
    if (const qsizetype at = data.indexOf("PRIVATE KEY-----"); at >= 0)
        findings.append(
            {QStringLiteral("a PEM private key block"), where, at, QStringLiteral("PEM")});
    return findings;
}

inline QByteArray readWhole(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// Every file under `root` but those whose path relative to `root` starts with an entry of
// `excluded` (each excluded on purpose by the caller, saying why).
inline QList<SecretFinding> scanTree(const QString& root, const QList<Secret>& secrets,
                                     const QStringList& excluded = {},
                                     int* filesScanned = nullptr) {
    QList<SecretFinding> findings;
    const QDir base(root);
    QDirIterator it(root, QDir::Files | QDir::Hidden | QDir::System, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString path = it.next();
        const QString relative = base.relativeFilePath(path);
        if (std::any_of(excluded.begin(), excluded.end(),
                        [&](const QString& e) { return relative.startsWith(e); }))
            continue;
        if (filesScanned)
            ++*filesScanned;
        findings += scanBytes(relative, readWhole(path), secrets);
    }
    return findings;
}

} // namespace keyline::test
