// keyline-station driven through its widgets against the virtual wearable: log in, pick the
// order, run it until every tile shows PASS; faulted devices show FAIL with plain words and
// what to do; roles decide which controls exist.
#include "db/device_repository.h"
#include "gui_fixture.h"
#include "ui/attention_banner.h"
#include "ui/audit_view.h"
#include "ui/create_order_dialog.h"
#include "ui/orders_view.h"
#include "ui/run_controller.h"

#include <QFileInfo>
#include <QTableView>

using namespace keyline;
using keyline::test::child;
using keyline::test::GuiStation;
using keyline::test::LineFixture;
using keyline::test::SimProcess;
using keyline::test::waitUntil;

TEST_CASE("an operator logs in, picks the order and runs it until every tile shows PASS",
          "[ui][gui][run]") {
    LineFixture f;
    f.addOperator(QStringLiteral("olga"), db::Role::Operator, QStringLiteral("1357"));
    test::makeOrder(f, QStringLiteral("PO-GUI"), 3);
    SimProcess sim(f, 3, 1);
    GuiStation gui(f);

    gui.logIn(QStringLiteral("olga"), QStringLiteral("1357"));
    REQUIRE(gui.window->user().has_value());
    CHECK(gui.window->currentScreen() == static_cast<QWidget*>(gui.window->ordersView()));
    auto* table = child<QTableView>(gui.w(), "orderTable");
    REQUIRE(waitUntil([&] { return table->model()->rowCount() == 1; }));
    // An operator runs orders; creating, closing and auditing them are not offered at all.
    CHECK_FALSE(child<QPushButton>(gui.w(), "createOrderButton")->isVisibleTo(gui.w()));
    CHECK_FALSE(child<QPushButton>(gui.w(), "closeOrderButton")->isVisibleTo(gui.w()));
    CHECK_FALSE(child<QPushButton>(gui.w(), "navAudit")->isVisibleTo(gui.w()));

    auto* run = child<QPushButton>(gui.w(), "runOrderButton");
    REQUIRE(run->isEnabled()); // the only order is picked already
    run->click();
    CHECK(gui.window->currentScreen() == static_cast<QWidget*>(gui.window->runView()));
    INFO(gui.window->banner()->text().toStdString());
    REQUIRE(waitUntil([&] { return gui.allFinished(3); }, 120000));
    for (ui::SlotTile* t : gui.tiles()) {
        INFO(t->port().toStdString() << ": " << t->problemText().toStdString());
        CHECK(t->resultText() == QStringLiteral("PASS"));
    }
    CHECK(gui.window->controller()->totals().passed == 3);
    CHECK(gui.window->controller()->totals().failed == 0);

    child<QPushButton>(gui.w(), "stopButton")->click();
    REQUIRE(waitUntil([&] { return !gui.window->controller()->isActive(); }, 60000));
    auto devices = db::DeviceRepository(*f.openDatabase()).listForOrder(QStringLiteral("PO-GUI"));
    REQUIRE(devices.ok());
    REQUIRE(devices->size() == 3);
    for (const db::Device& d : *devices)
        CHECK(d.state == db::DeviceState::Provisioned);
}

TEST_CASE("faulted devices show FAIL with the reason in plain words and what to do",
          "[ui][gui][faults]") {
    LineFixture f;
    test::makeOrder(f, QStringLiteral("PO-FAULT"), 10);
    SimProcess sim(f, 4, 1,
                   {QStringLiteral("--fault"), QStringLiteral("2:counterfeit"),
                    QStringLiteral("--fault"), QStringLiteral("3:otp-burned-other"),
                    QStringLiteral("--fault"), QStringLiteral("4:disconnect-after-bytes=2000000")});
    GuiStation gui(f);
    gui.logIn(QStringLiteral("line-service"), QStringLiteral("0000"));
    REQUIRE(gui.window->user().has_value());
    REQUIRE(waitUntil(
        [&] { return child<QTableView>(gui.w(), "orderTable")->model()->rowCount() == 1; }));
    child<QPushButton>(gui.w(), "runOrderButton")->click();
    REQUIRE(waitUntil([&] { return gui.allFinished(4); }, 120000));

    CHECK(gui.tile(1)->resultText() == QStringLiteral("PASS"));
    ui::SlotTile* fake = gui.tile(2);
    CHECK(fake->resultText() == QStringLiteral("FAIL"));
    CHECK(fake->problemText().contains(QStringLiteral("not genuine")));
    CHECK(fake->todoText().contains(QStringLiteral("Set aside: not a genuine chip")));
    ui::SlotTile* scrap = gui.tile(3);
    CHECK(scrap->resultText() == QStringLiteral("FAIL"));
    CHECK(scrap->problemText().contains(QStringLiteral("another key")));
    CHECK(scrap->todoText().contains(QStringLiteral("Set aside as scrap")));
    ui::SlotTile* dropped = gui.tile(4);
    if (dropped->resultText() == QStringLiteral("FAIL"))
        CHECK(dropped->todoText().contains(QStringLiteral("Re-plug the device")));
    CHECK(gui.window->controller()->totals().failed >= 2);
}

TEST_CASE("roles decide what is offered, and a supervisor creates an order and exports its audit",
          "[ui][gui][roles]") {
    LineFixture f;
    f.addOperator(QStringLiteral("olga"), db::Role::Operator, QStringLiteral("1357"));
    const QString ks = f.devKeystore(QStringLiteral("acme"));
    const QString pkg = f.devPackage(ks, QStringLiteral("acme.klpk"));
    GuiStation gui(f);

    // A wrong PIN says so, without telling whether the name exists.
    gui.logIn(QStringLiteral("olga"), QStringLiteral("9999"));
    CHECK_FALSE(gui.window->user().has_value());
    CHECK(child<QLabel>(gui.w(), "loginMessage")->text().contains(QStringLiteral("not accepted")));

    gui.logIn(QStringLiteral("olga"), QStringLiteral("1357"));
    REQUIRE(gui.window->user().has_value());
    CHECK_FALSE(child<QPushButton>(gui.w(), "createOrderButton")->isVisibleTo(gui.w()));
    gui.window->logOut();
    CHECK(gui.window->currentScreen() == static_cast<QWidget*>(gui.window->loginView()));

    gui.logIn(QStringLiteral("line-service"), QStringLiteral("0000"));
    REQUIRE(gui.window->user().has_value());
    auto* create = child<QPushButton>(gui.w(), "createOrderButton");
    CHECK(create->isVisibleTo(gui.w()));
    CHECK(child<QPushButton>(gui.w(), "navAudit")->isVisibleTo(gui.w()));
    gui.waitIdle();
    create->click();
    ui::CreateOrderDialog* dialog = gui.window->createDialog();
    REQUIRE(dialog != nullptr);
    ui::NewOrderForm form;
    form.id = QStringLiteral("PO-NEW");
    form.customerId = QStringLiteral("acme");
    form.quantity = 5;
    form.packagePath = pkg;
    form.keystorePath = ks;
    dialog->setForm(form);
    child<QPushButton>(dialog, "createButton")->click();
    REQUIRE(waitUntil([&] { return !dialog->isVisible() && gui.idle(); }, 60000));
    INFO(child<QLabel>(dialog, "createError")->text().toStdString());
    auto* table = child<QTableView>(gui.w(), "orderTable");
    REQUIRE(table->model()->rowCount() == 1);
    CHECK(table->model()->index(0, 0).data().toString() == QStringLiteral("PO-NEW"));

    gui.window->showAudit();
    gui.waitIdle();
    gui.window->auditView()->setFolder(f.path(QStringLiteral("exports")));
    child<QPushButton>(gui.w(), "exportButton")->click();
    REQUIRE(waitUntil([&] { return gui.idle(); }, 60000));
    const QString shown = gui.window->auditView()->resultText();
    INFO(shown.toStdString());
    REQUIRE(shown.startsWith(QStringLiteral("Exported")));
    const QStringList files = QDir(f.path(QStringLiteral("exports")))
                                  .entryList({QStringLiteral("audit-PO-NEW-*")}, QDir::Files);
    REQUIRE(files.size() == 2); // records and signature, both named on the screen
    for (const QString& file : files)
        CHECK(shown.contains(file));
}
