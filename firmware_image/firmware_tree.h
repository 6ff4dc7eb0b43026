#pragma once

// The bundled firmware tree (firmware_image/tree/, documented in firmware_image/README.md): a
// sample OS described by manifest.json — components that are files in the tree or deterministic
// pseudo-random payloads materialised here, so git stays small — and the reference application
// directory.

#include "common/result.h"
#include "firmware_image/package.h"

#include <QString>
#include <QStringList>
#include <vector>

namespace keyline::firmware {

inline constexpr qint64 kMaxComponentBytes = 256LL * 1024 * 1024;
inline constexpr qint64 kMaxOsBytes = 448LL * 1024 * 1024; // leaves room in a 512 MiB package
inline constexpr int kMaxAppFiles = 1024;

struct FirmwareTree {
    QString root;                             // absolute path of the tree
    QString osName;                           // informational
    quint64 osCounter = 0;                    // the OS security counter
    QStringList osHardware;                   // sorted, unique
    std::vector<OsComponentInput> components; // materialised, in manifest order
    QString applicationDir;                   // absolute path of the reference application
};

// Reads <dir>/manifest.json and materialises every component. BadInput naming the key or the
// component for anything malformed; a file path must stay inside the tree (no "..", no
// absolute path, no symbolic link), sizes are bounded before anything is read.
Result<FirmwareTree> readFirmwareTree(const QString& dir);

// The deterministic generator: the AES-256-CTR keystream with key = SHA-256(seed as UTF-8) and
// IV = 16 zero bytes, i.e.
//   head -c SIZE /dev/zero | openssl enc -aes-256-ctr -K <sha256(seed)> -iv 0…0
Result<QByteArray> generatePayload(const QString& seed, qint64 size);

// An application directory: <dir>/keyline-app.json (name, version, counter, hardware) and its
// files, packed as one image (KLAR archive: every regular file, sorted by path).
struct AppDirectory {
    QString name;
    QString version;
    quint64 counter = 0;
    QStringList hardware; // sorted, unique
    QByteArray image;
};
Result<AppDirectory> readAppDirectory(const QString& dir);

} // namespace keyline::firmware
