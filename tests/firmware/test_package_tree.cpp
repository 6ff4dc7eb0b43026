// The bundled firmware tree and its reader (firmware_image/README.md).

#include "firmware_image/firmware_tree.h"
#include "firmware_image/package_internal.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <catch2/catch.hpp>

using namespace keyline;
using namespace keyline::firmware;

namespace {

QString bundledTree() {
    return QStringLiteral(KEYLINE_TEST_TREE);
}

void write(const QString& path, const QByteArray& data) {
    QDir().mkpath(QFileInfo(path).path());
    QFile f(path);
    REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(data);
}

} // namespace

TEST_CASE("the generator is AES-256-CTR over zeros, as openssl enc computes it", "[tree]") {
    // head -c 64 /dev/zero | openssl enc -aes-256-ctr -K $(printf %s "keyline test seed" |
    //   sha256sum | cut -c1-64) -iv 00000000000000000000000000000000 | xxd -p
    auto g = generatePayload(QStringLiteral("keyline test seed"), 64);
    REQUIRE(g.ok());
    CHECK(g->toHex() == QByteArray("0b223ed01882bfbe9f1ea42590594ef31e985adeba3268b65572d10a9c24"
                                   "7667d201365f4ddcdfeb67fa7cdaaf5731a0e66f67a8ae76da290f9c5bba"
                                   "7a43e92a"));
    auto longer = generatePayload(QStringLiteral("keyline test seed"), 1000);
    REQUIRE(longer.ok());
    CHECK(pkg::sha256(*longer).toHex() ==
          QByteArray("8e38fc955cec29ecddf9692d29bafd80f9c92cbb15b5b146cd0821834e0b0796"));
    CHECK(longer->left(64) == *g);
}

TEST_CASE("the bundled tree: a sample OS of a few MB and the reference application", "[tree]") {
    auto t = readFirmwareTree(bundledTree());
    if (!t.ok())
        FAIL(t.error().toString().toStdString());
    REQUIRE(t->components.size() == 5);
    QStringList names;
    qint64 total = 0;
    for (const auto& c : t->components) {
        names << c.name;
        total += c.data.size();
        CHECK_FALSE(c.version.isEmpty());
    }
    CHECK(names == QStringList{QStringLiteral("bootloader"), QStringLiteral("devicetree"),
                               QStringLiteral("kernel"), QStringLiteral("rootfs"),
                               QStringLiteral("radio-fw")});
    CHECK(total > 4 * 1024 * 1024);
    CHECK(t->osCounter == 3);
    CHECK(t->osHardware.contains(QStringLiteral("KW-1 rev B (simulated)")));
    // Deterministic: the same tree materialises the same bytes.
    auto again = readFirmwareTree(bundledTree());
    REQUIRE(again.ok());
    CHECK(again->components[3].data == t->components[3].data);

    auto app = readAppDirectory(t->applicationDir);
    if (!app.ok())
        FAIL(app.error().toString().toStdString());
    CHECK(app->name == QStringLiteral("kl-reference-wearable"));
    CHECK(app->counter == 1);
    CHECK(app->image.startsWith("KLAR"));
    CHECK(app->image.contains("bin/wearable-app"));
    CHECK(readAppDirectory(t->applicationDir)->image == app->image);
}

TEST_CASE("the tree reader refuses what a tree must not be", "[tree]") {
    QTemporaryDir dir;
    REQUIRE(dir.isValid());
    const QString manifest = dir.filePath(QStringLiteral("manifest.json"));
    auto treeWith = [&](const QByteArray& component) {
        write(manifest, R"({"format": 1, "application": "app", "os": {"security_counter": 1,
              "hardware": ["KW-1 rev B"], "components": [)" +
                            component + "]}}");
        return readFirmwareTree(dir.path());
    };
    write(dir.filePath(QStringLiteral("os/k.bin")), "kernel");
    CHECK(treeWith(R"({"name": "kernel", "version": "1", "file": "os/k.bin"})").ok());

    auto escape = treeWith(R"({"name": "kernel", "version": "1", "file": "../outside"})");
    REQUIRE_FALSE(escape.ok());
    CHECK(escape.error().message().contains(QStringLiteral("inside the tree")));
    auto both = treeWith(R"({"name": "k", "version": "1", "file": "os/k.bin",
                              "generate": {"algorithm": "aes-256-ctr", "seed": "s", "size": 1}})");
    REQUIRE_FALSE(both.ok());
    CHECK(both.error().message().contains(QStringLiteral("exactly one")));
    auto huge = treeWith(R"({"name": "k", "version": "1",
                              "generate": {"algorithm": "aes-256-ctr", "seed": "s", "size": 1e12}})");
    REQUIRE_FALSE(huge.ok());
    CHECK(huge.error().message().contains(QStringLiteral("'size'")));
    auto badName = treeWith(R"({"name": "Kernel!", "version": "1", "file": "os/k.bin"})");
    REQUIRE_FALSE(badName.ok());
    CHECK(badName.error().code() == ErrorCode::BadInput);
    auto twice = treeWith(R"({"name": "k", "version": "1", "file": "os/k.bin"},
                             {"name": "k", "version": "2", "file": "os/k.bin"})");
    REQUIRE_FALSE(twice.ok());
    CHECK(twice.error().message().contains(QStringLiteral("twice")));
    write(manifest, "not json");
    CHECK(readFirmwareTree(dir.path()).error().code() == ErrorCode::BadInput);
}
