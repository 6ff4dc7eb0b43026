// `keyline order`: what an order may be made of. Every development/production mix the issue
// names is tried and refused with a reason; a good order pins copies of its files.
#include "common/ossl_ptr.h"
#include "line_fixture.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <openssl/evp.h>
#include <openssl/pem.h>

using namespace keyline;
using keyline::test::CliRun;
using keyline::test::LineFixture;

namespace {

// A customer's production key pair, as the customer would make it: private PEM and public PEM.
struct CustomerKey {
    QString privatePem, publicPem;
};

CustomerKey customerKey(const LineFixture& f, const QString& name) {
    OsslPtr<EVP_PKEY, EVP_PKEY_free> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    REQUIRE(key);
    auto pem = [](auto write) {
        OsslPtr<BIO, BIO_free> bio(BIO_new(BIO_s_mem()));
        REQUIRE(write(bio.get()) == 1);
        char* data = nullptr;
        const long len = BIO_get_mem_data(bio.get(), &data);
        return QByteArray(data, int(len));
    };
    CustomerKey k;
    k.privatePem = f.writeFile(name + QStringLiteral(".key.pem"), pem([&](BIO* b) {
                                   return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr,
                                                                   0, nullptr, nullptr);
                               }));
    k.publicPem = f.writeFile(name + QStringLiteral(".pub.pem"),
                              pem([&](BIO* b) { return PEM_write_bio_PUBKEY(b, key.get()); }));
    return k;
}

struct ProdMaterial {
    QString keystore, package;
};

// A production keystore and package for `customer`, made the production way: the customer's
// own keys, the application signed by the customer (package sign-app).
ProdMaterial prodMaterial(const LineFixture& f, const QString& customer) {
    const CustomerKey app = customerKey(f, customer + QStringLiteral("-app"));
    const CustomerKey update = customerKey(f, customer + QStringLiteral("-update"));
    const CustomerKey backend = customerKey(f, customer + QStringLiteral("-backend"));
    ProdMaterial m;
    m.keystore = f.path(customer + QStringLiteral("-prod.ks"));
    f.expect({QStringLiteral("keystore"), QStringLiteral("build"), QStringLiteral("--customer"),
              customer, QStringLiteral("--env"), QStringLiteral("prod"), QStringLiteral("--serial"),
              QStringLiteral("1"), QStringLiteral("--app-key"), app.publicPem,
              QStringLiteral("--update-key"), update.publicPem, QStringLiteral("--backend-key"),
              backend.publicPem, QStringLiteral("-o"), m.keystore},
             0);
    const QString signedApp = f.path(customer + QStringLiteral("-app.klsa"));
    f.expect({QStringLiteral("package"), QStringLiteral("sign-app"), QStringLiteral("--app"),
              QDir(test::firmwareTree()).filePath(QStringLiteral("app")), QStringLiteral("--key"),
              app.privatePem, QStringLiteral("--customer"), customer, QStringLiteral("--env"),
              QStringLiteral("prod"), QStringLiteral("--app-version"), QStringLiteral("1.0.0"),
              QStringLiteral("--counter"), QStringLiteral("1"), QStringLiteral("-o"), signedApp},
             0);
    m.package = f.path(customer + QStringLiteral("-prod.klpk"));
    f.expect({QStringLiteral("package"), QStringLiteral("build"), QStringLiteral("--tree"),
              test::firmwareTree(), QStringLiteral("--os-version"), QStringLiteral("1.0.0"),
              QStringLiteral("--app"), signedApp, QStringLiteral("--keystore"), m.keystore,
              QStringLiteral("--env"), QStringLiteral("prod"), QStringLiteral("-o"), m.package},
             0);
    return m;
}

} // namespace

TEST_CASE("a development order is created, listed and shown, with its files pinned",
          "[station][order]") {
    LineFixture f;
    const QString ks = f.devKeystore(QStringLiteral("acme"));
    const QString pkg = f.devPackage(ks, QStringLiteral("acme.klpk"));
    const CliRun created = f.createOrder(QStringLiteral("PO-7"), QStringLiteral("acme"),
                                         QStringLiteral("dev"), 24, pkg, ks);
    INFO(created.all().toStdString());
    REQUIRE(created.code == 0);
    CHECK(created.out.contains(QStringLiteral("keyline run --order PO-7")));
    // The order keeps its own copy: changing the engineer's file later changes nothing.
    f.writeFile(QStringLiteral("acme.klpk"), "overwritten");
    CHECK(QFile::exists(QDir(f.dataDir()).filePath(QStringLiteral("orders/PO-7/package.klpk"))));

    const CliRun list =
        f.expect({QStringLiteral("order"), QStringLiteral("list"), QStringLiteral("--json")}, 0);
    const QJsonArray orders = QJsonDocument::fromJson(list.out.toUtf8())
                                  .object()
                                  .value(QStringLiteral("orders"))
                                  .toArray();
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].toObject().value(QStringLiteral("id")).toString() == QStringLiteral("PO-7"));
    CHECK(orders[0].toObject().value(QStringLiteral("quantity")).toInt() == 24);
    CHECK(orders[0].toObject().value(QStringLiteral("remaining")).toInt() == 24);
    CHECK(orders[0].toObject().value(QStringLiteral("createdBy")).toString() ==
          QStringLiteral("line-service"));
    const CliRun show =
        f.expect({QStringLiteral("order"), QStringLiteral("show"), QStringLiteral("PO-7")}, 0);
    CHECK(show.out.contains(QStringLiteral("quantity 24")));
    // The same ID twice is refused.
    CHECK(f.createOrder(QStringLiteral("PO-7"), QStringLiteral("acme"), QStringLiteral("dev"), 5,
                        pkg, ks)
              .code == 1);
    f.expect({QStringLiteral("order"), QStringLiteral("close"), QStringLiteral("PO-7")}, 0);
    CHECK(f.run({QStringLiteral("order"), QStringLiteral("show"), QStringLiteral("PO-7")})
              .out.contains(QStringLiteral("(closed)")));
}

TEST_CASE("development and production never mix in an order", "[station][order]") {
    LineFixture f;
    const QString devKs = f.devKeystore(QStringLiteral("acme"));
    const QString devPkg = f.devPackage(devKs, QStringLiteral("acme-dev.klpk"));
    const ProdMaterial prod = prodMaterial(f, QStringLiteral("acme"));
    auto refused = [&](const QString& env, const QString& pkg, const QString& ks,
                       const QString& reason) {
        const CliRun r =
            f.createOrder(QStringLiteral("PO-MIX"), QStringLiteral("acme"), env, 10, pkg, ks);
        INFO(r.all().toStdString());
        CHECK(r.code == 1);
        CHECK(r.err.contains(reason));
        CHECK(r.err.count(QLatin1Char('\n')) == 1); // one line
    };
    SECTION("a production order refuses a development keystore") {
        refused(QStringLiteral("prod"), devPkg, devKs, QStringLiteral("dev keystore"));
    }
    SECTION("a development order refuses a production keystore") {
        refused(QStringLiteral("dev"), prod.package, prod.keystore,
                QStringLiteral("prod keystore"));
    }
    SECTION("a production order refuses a package signed with a development key") {
        refused(QStringLiteral("prod"), devPkg, prod.keystore, QStringLiteral("package"));
    }
    SECTION("a production order refuses the development CA") {
        refused(QStringLiteral("prod"), prod.package, prod.keystore,
                QStringLiteral("development CA"));
    }
    SECTION("a keystore of another customer is refused") {
        const QString other = f.devKeystore(QStringLiteral("globex"));
        const CliRun r = f.createOrder(QStringLiteral("PO-X"), QStringLiteral("acme"),
                                       QStringLiteral("dev"), 10, devPkg, other);
        CHECK(r.code == 1);
        CHECK(r.err.contains(QStringLiteral("globex")));
    }
    CHECK(f.run({QStringLiteral("order"), QStringLiteral("list")})
              .out.contains(QStringLiteral("no orders yet")));
}

TEST_CASE("bad order arguments and files exit 2 with a one-line reason", "[station][order]") {
    LineFixture f;
    const QString ks = f.devKeystore(QStringLiteral("acme"));
    const QString pkg = f.devPackage(ks, QStringLiteral("acme.klpk"));
    auto usage = [&](const QStringList& args, const QString& reason) {
        const CliRun r = f.run(args);
        INFO(r.all().toStdString());
        CHECK(r.code == 2);
        CHECK(r.err.contains(reason));
    };
    const QString o = QStringLiteral("order"), c = QStringLiteral("create");
    usage({o, c, QStringLiteral("--customer"), QStringLiteral("acme")},
          QStringLiteral("needs --customer"));
    CHECK(f.createOrder(QStringLiteral("PO-1"), QStringLiteral("acme"), QStringLiteral("dev"), 0,
                        pkg, ks)
              .code == 2);
    CHECK(f.createOrder(QStringLiteral("bad id!"), QStringLiteral("acme"), QStringLiteral("dev"), 3,
                        pkg, ks)
              .code == 2);
    CHECK(f.createOrder(QStringLiteral("PO-1"), QStringLiteral("acme"), QStringLiteral("test"), 3,
                        pkg, ks)
              .code == 2);
    CHECK(f.createOrder(QStringLiteral("PO-1"), QStringLiteral("acme"), QStringLiteral("dev"), 3,
                        f.path(QStringLiteral("missing.klpk")), ks)
              .code == 2);
    // A package with one byte flipped in its OS does not verify: bad input, no order.
    QByteArray bytes = f.readFile(QStringLiteral("acme.klpk"));
    bytes[bytes.size() / 2] = char(bytes[bytes.size() / 2] ^ 0x20);
    const QString tampered = f.writeFile(QStringLiteral("tampered.klpk"), bytes);
    const CliRun r = f.createOrder(QStringLiteral("PO-1"), QStringLiteral("acme"),
                                   QStringLiteral("dev"), 3, tampered, ks);
    INFO(r.all().toStdString());
    CHECK(r.code != 0);
    CHECK(r.err.contains(QStringLiteral("package")));
    usage({o, QStringLiteral("show")}, QStringLiteral("one order ID"));
    usage({o, QStringLiteral("frobnicate")}, QStringLiteral("unknown order command"));
    CHECK(f.run({o, QStringLiteral("show"), QStringLiteral("NOPE")}).code == 2);
}

TEST_CASE("only a supervisor or engineer creates orders", "[station][order]") {
    LineFixture f;
    f.addOperator(QStringLiteral("olga"), db::Role::Operator, QStringLiteral("1357"));
    const QString ks = f.devKeystore(QStringLiteral("acme"));
    const QString pkg = f.devPackage(ks, QStringLiteral("acme.klpk"));
    qputenv("KEYLINE_OPERATOR_PIN", "1357");
    const CliRun r = f.run(
        {QStringLiteral("order"), QStringLiteral("create"), QStringLiteral("--customer"),
         QStringLiteral("acme"), QStringLiteral("--env"), QStringLiteral("dev"),
         QStringLiteral("--quantity"), QStringLiteral("3"), QStringLiteral("--package"), pkg,
         QStringLiteral("--keystore"), ks, QStringLiteral("--operator"), QStringLiteral("olga")});
    qunsetenv("KEYLINE_OPERATOR_PIN");
    INFO(r.all().toStdString());
    CHECK(r.code == 1);
    CHECK(r.err.contains(QStringLiteral("supervisor")));
    CHECK_FALSE(r.all().contains(QStringLiteral("1357")));
}
