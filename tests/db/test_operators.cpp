#include "db/db_error.h"
#include "db/operator_repository.h"
#include "db_fixture.h"

#include <QSqlQuery>

using namespace keyline;
using namespace keyline::db;
using keyline::test::TempDatabase;

namespace {

// Fast for tests; the iteration count travels with each hash.
PinHasher fastHasher() {
    return PinHasher(PinHasher::kMinimumIterations);
}

} // namespace

TEST_CASE("operators authenticate with their PIN and get their role") {
    TempDatabase t;
    OperatorRepository operators(*t.db, fastHasher());
    REQUIRE(
        operators.create(QStringLiteral("sam"), Role::Supervisor, QStringLiteral("482916")).ok());
    auto ok = operators.authenticate(QStringLiteral("sam"), QStringLiteral("482916"));
    REQUIRE(ok.ok());
    CHECK(ok->role == Role::Supervisor);

    auto wrong = operators.authenticate(QStringLiteral("sam"), QStringLiteral("000000"));
    auto unknown = operators.authenticate(QStringLiteral("kim"), QStringLiteral("482916"));
    REQUIRE_FALSE(wrong.ok());
    REQUIRE_FALSE(unknown.ok());
    CHECK(isRefusal(wrong.error(), DbRefusal::WrongCredentials));
    // The same answer for an unknown name and a wrong PIN.
    CHECK(wrong.error().toString() == unknown.error().toString());

    REQUIRE(operators.setActive(QStringLiteral("sam"), false).ok());
    CHECK_FALSE(operators.authenticate(QStringLiteral("sam"), QStringLiteral("482916")).ok());
    REQUIRE(operators.setActive(QStringLiteral("sam"), true).ok());
    REQUIRE(operators.changePin(QStringLiteral("sam"), QStringLiteral("5551234")).ok());
    CHECK_FALSE(operators.authenticate(QStringLiteral("sam"), QStringLiteral("482916")).ok());
    CHECK(operators.authenticate(QStringLiteral("sam"), QStringLiteral("5551234")).ok());
    REQUIRE(operators.setRole(QStringLiteral("sam"), Role::Engineer).ok());
    CHECK(operators.find(QStringLiteral("sam"))->role == Role::Engineer);
    CHECK(isRefusal(
        operators.create(QStringLiteral("sam"), Role::Operator, QStringLiteral("1234")).error(),
        DbRefusal::AlreadyExists));
    CHECK(operators.list()->size() == 1);
}

TEST_CASE("the PIN is stored only as a salted slow hash") {
    TempDatabase t;
    OperatorRepository operators(*t.db, fastHasher());
    REQUIRE(operators.create(QStringLiteral("a"), Role::Operator, QStringLiteral("482916")).ok());
    REQUIRE(operators.create(QStringLiteral("b"), Role::Operator, QStringLiteral("482916")).ok());
    auto q = t.db->exec(QStringLiteral("SELECT pin_hash FROM operators ORDER BY name"));
    REQUIRE(q.ok());
    REQUIRE(q->next());
    const QString a = q->value(0).toString();
    REQUIRE(q->next());
    const QString b = q->value(0).toString();
    CHECK(a.startsWith(QStringLiteral("pbkdf2-sha256$1000$")));
    CHECK_FALSE(a.contains(QStringLiteral("482916")));
    CHECK(a != b); // salted
    CHECK(fastHasher().verify(QStringLiteral("482916"), a));
    CHECK_FALSE(fastHasher().verify(QStringLiteral("482917"), a));
    CHECK_FALSE(fastHasher().verify(QStringLiteral("482916"), QStringLiteral("garbage")));
}

TEST_CASE("the default PIN hash is slow enough") {
    auto hash = PinHasher().hash(QStringLiteral("482916"));
    REQUIRE(hash.ok());
    CHECK(hash->startsWith(QStringLiteral("pbkdf2-sha256$600000$")));
    CHECK(PinHasher(1)
              .hash(QStringLiteral("1234"))
              ->startsWith(QStringLiteral("pbkdf2-sha256$1000$")));
}

TEST_CASE("bad operator names and PINs are refused without echoing the PIN") {
    TempDatabase t;
    OperatorRepository operators(*t.db, fastHasher());
    auto shortPin = operators.create(QStringLiteral("sam"), Role::Operator, QStringLiteral("12"));
    REQUIRE_FALSE(shortPin.ok());
    CHECK(shortPin.error().code() == ErrorCode::InvalidArgument);
    CHECK_FALSE(shortPin.error().toString().contains(QStringLiteral("12")));
    CHECK(operators.create(QStringLiteral("sam,x"), Role::Operator, QStringLiteral("1234"))
              .error()
              .code() == ErrorCode::InvalidArgument);
    CHECK(parseRole(QStringLiteral("admin")).error().code() == ErrorCode::BadInput);
}
