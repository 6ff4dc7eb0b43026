// The main screens at the two sizes stations have (1280×800 panels, 1920×1080 monitors), as a
// line worker sees them after a real run with faulted devices. Written to
// $KEYLINE_SCREENSHOT_DIR when it is set (docs/screenshots/ holds the committed ones), so CI
// renders them without rewriting files.
#include "db/order_repository.h"
#include "gui_fixture.h"
#include "ui/audit_view.h"
#include "ui/create_order_dialog.h"
#include "ui/orders_view.h"
#include "ui/run_controller.h"

#include <QLineEdit>
#include <QPixmap>
#include <QTableView>

using namespace keyline;
using keyline::test::child;
using keyline::test::GuiStation;
using keyline::test::LineFixture;
using keyline::test::SimProcess;
using keyline::test::waitUntil;

namespace {

const QList<QSize> kSizes{{1280, 800}, {1920, 1080}};

void settle() {
    waitUntil([] { return false; }, 150);
}

void shoot(QWidget* widget, const QString& name, const QSize& size) {
    widget->resize(size);
    settle();
    const QPixmap picture = widget->grab();
    REQUIRE_FALSE(picture.isNull());
    CHECK(picture.size() == size);
    const QString dir = qEnvironmentVariable("KEYLINE_SCREENSHOT_DIR");
    if (dir.isEmpty())
        return;
    QDir().mkpath(dir);
    const QString file = QDir(dir).filePath(
        QStringLiteral("%1-%2x%3.png").arg(name).arg(size.width()).arg(size.height()));
    REQUIRE(picture.save(file));
}

void shootBoth(QWidget* widget, const QString& name) {
    for (const QSize& s : kSizes)
        shoot(widget, name, s);
    widget->resize(kSizes.first());
}

} // namespace

TEST_CASE("screenshots of the main screens at 1280x800 and 1920x1080", "[ui][gui][screenshots]") {
    LineFixture f;
    f.addOperator(QStringLiteral("sam"), db::Role::Supervisor, QStringLiteral("2468"));
    test::makeOrder(f, QStringLiteral("PO-1001"), 24);
    {
        // A production order beside it, as the list shows it (it is never run here).
        db::NewOrder prod;
        prod.id = QStringLiteral("PO-2002");
        prod.customerId = QStringLiteral("globex-7");
        prod.environment = db::Environment::Production;
        prod.quantity = 500;
        prod.packagePath = f.path(QStringLiteral("globex.klpk"));
        prod.packageSha256 = QString(64, QLatin1Char('a'));
        prod.keystoreSha256 = QString(64, QLatin1Char('b'));
        prod.createdBy = QStringLiteral("sam");
        REQUIRE(db::OrderRepository(*f.openDatabase()).create(prod).ok());
    }
    SimProcess sim(f, 4, 1,
                   {QStringLiteral("--fault"), QStringLiteral("3:counterfeit"),
                    QStringLiteral("--fault"), QStringLiteral("4:otp-burned-other")});
    GuiStation gui(f);
    QWidget* window = gui.w();

    child<QLineEdit>(window, "operatorId")->setText(QStringLiteral("sam"));
    shootBoth(window, QStringLiteral("login"));

    gui.logIn(QStringLiteral("sam"), QStringLiteral("2468"));
    REQUIRE(gui.window->user().has_value());
    REQUIRE(waitUntil(
        [&] { return child<QTableView>(window, "orderTable")->model()->rowCount() == 2; }));
    gui.waitIdle();
    gui.window->ordersView()->select(QStringLiteral("PO-1001"));
    shootBoth(window, QStringLiteral("orders"));

    child<QPushButton>(window, "createOrderButton")->click();
    ui::CreateOrderDialog* dialog = gui.window->createDialog();
    REQUIRE(dialog != nullptr);
    ui::NewOrderForm form;
    form.customerId = QStringLiteral("globex-7");
    form.production = true;
    form.quantity = 500;
    form.packagePath = QStringLiteral("/media/usb/globex-7-prod.klpk");
    form.keystorePath = QStringLiteral("/media/usb/globex-7-prod.ks");
    dialog->setForm(form);
    settle();
    const QPixmap dialogPicture = dialog->grab();
    CHECK_FALSE(dialogPicture.isNull());
    if (const QString dir = qEnvironmentVariable("KEYLINE_SCREENSHOT_DIR"); !dir.isEmpty())
        CHECK(dialogPicture.save(QDir(dir).filePath(QStringLiteral("new-order.png"))));
    dialog->reject();

    child<QPushButton>(window, "runOrderButton")->click();
    REQUIRE(waitUntil([&] { return gui.allFinished(4); }, 120000));
    shootBoth(window, QStringLiteral("run"));

    child<QPushButton>(window, "stopButton")->click();
    REQUIRE(waitUntil([&] { return !gui.window->controller()->isActive(); }, 60000));
    gui.window->showAudit();
    gui.waitIdle();
    gui.window->auditView()->setFolder(f.path(QStringLiteral("audit-exports")));
    child<QPushButton>(window, "exportButton")->click();
    REQUIRE(waitUntil([&] { return gui.idle(); }, 60000));
    CHECK(gui.window->auditView()->resultText().startsWith(QStringLiteral("Exported")));
    shootBoth(window, QStringLiteral("audit"));
}
