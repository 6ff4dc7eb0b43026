#include "ui/main_window.h"

#include "ui/attention_banner.h"
#include "ui/audit_view.h"
#include "ui/create_order_dialog.h"
#include "ui/idle_watcher.h"
#include "ui/login_view.h"
#include "ui/orders_view.h"
#include "ui/run_controller.h"
#include "ui/run_view.h"
#include "ui/station_style.h"
#include "ui/station_worker.h"

#include <QButtonGroup>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QStackedWidget>
#include <QVBoxLayout>

namespace keyline::ui {

using Topic = AttentionBanner::Topic;

MainWindow::MainWindow(StationWindowOptions options, QWidget* parent)
    : QMainWindow(parent)
    , m_options(std::move(options))
    , m_worker(new StationWorker(m_options.config, this))
    , m_controller(new RunController(m_options.config, this))
    , m_idle(new IdleWatcher(m_options.idleLogout, this))
    , m_stack(new QStackedWidget(this))
    , m_banner(new AttentionBanner(this))
    , m_login(new LoginView(m_options.config.stationName, this))
    , m_orders(new OrdersView(this))
    , m_run(new RunView(*m_controller, this))
    , m_audit(new AuditView(this)) {
    setObjectName(QStringLiteral("stationWindow"));
    setWindowTitle(tr("Keyline station %1").arg(m_options.config.stationName));
    m_stack->addWidget(m_login);
    m_stack->addWidget(m_orders);
    m_stack->addWidget(m_run);
    m_stack->addWidget(m_audit);
    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(makeTopBar());
    layout->addWidget(m_banner);
    layout->addWidget(m_stack, 1);
    setCentralWidget(central);
    m_audit->setFolder(QStringLiteral("%1/audit-exports").arg(m_options.config.dataDir));

    connect(m_login, &LoginView::loginRequested, this, &MainWindow::logIn);
    connect(m_orders, &OrdersView::refreshRequested, this, &MainWindow::refreshOrders);
    connect(m_orders, &OrdersView::runRequested, this, &MainWindow::runOrder);
    connect(m_orders, &OrdersView::createRequested, this, &MainWindow::createOrder);
    connect(m_orders, &OrdersView::closeRequested, this, &MainWindow::closeOrder);
    connect(m_audit, &AuditView::exportRequested, this, &MainWindow::exportAudit);
    connect(m_run, &RunView::startRequested, this, &MainWindow::startOrResume);
    connect(m_run, &RunView::stopRequested, this, [this] {
        m_sessionEnded = true;
        m_controller->stop();
    });
    connect(m_controller, &RunController::runEnded, this, &MainWindow::onRunEnded);
    connect(m_controller, &RunController::stateChanged, this, [this] {
        m_navOrders->setEnabled(true);
        m_logout->setEnabled(true);
    });
    connect(m_controller, &RunController::jobEvent, this, [this](const provisioning::JobEvent& e) {
        if (e.kind == provisioning::JobEventKind::Started)
            m_idle->poke();
    });
    connect(m_controller, &RunController::deviceFinished, this,
            [this](const provisioning::DeviceResult& r) {
                if (r.errorCode == ErrorCode::EnvironmentNotReady)
                    m_banner->set(Topic::Hsm,
                                  tr("The key module (HSM) or the database stopped answering: "
                                     "call the engineer."));
                refreshRemaining();
            });
    connect(m_idle, &IdleWatcher::idle, this, [this] {
        logOut(tr("You were logged out after %1 minutes without activity.")
                   .arg(m_options.idleLogout.count()));
    });
    logOut();
    resize(1280, 800);
    if (m_options.kiosk)
        setWindowState(Qt::WindowFullScreen);
}

MainWindow::~MainWindow() = default;

QWidget* MainWindow::makeTopBar() {
    auto* bar = new QFrame(this);
    bar->setObjectName(QStringLiteral("topBar"));
    auto* name = new QLabel(tr("Keyline · %1").arg(m_options.config.stationName), bar);
    QFont f = name->font();
    f.setPixelSize(24);
    f.setBold(true);
    name->setFont(f);
    m_navOrders = new QPushButton(tr("Orders"), bar);
    m_navRun = new QPushButton(tr("Run"), bar);
    m_navAudit = new QPushButton(tr("Audit"), bar);
    m_navOrders->setObjectName(QStringLiteral("navOrders"));
    m_navRun->setObjectName(QStringLiteral("navRun"));
    m_navAudit->setObjectName(QStringLiteral("navAudit"));
    auto* group = new QButtonGroup(bar);
    for (QPushButton* b : {m_navOrders, m_navRun, m_navAudit}) {
        b->setCheckable(true);
        setStyleRole(b, QStringLiteral("nav"));
        group->addButton(b);
    }
    m_userLabel = new QLabel(bar);
    m_userLabel->setObjectName(QStringLiteral("userLabel"));
    m_logout = new QPushButton(tr("Log out"), bar);
    m_logout->setObjectName(QStringLiteral("logoutButton"));
    auto* layout = new QHBoxLayout(bar);
    layout->setContentsMargins(16, 8, 16, 8);
    layout->setSpacing(12);
    layout->addWidget(name);
    layout->addSpacing(24);
    layout->addWidget(m_navOrders);
    layout->addWidget(m_navRun);
    layout->addWidget(m_navAudit);
    layout->addStretch(1);
    layout->addWidget(m_userLabel);
    layout->addWidget(m_logout);
    connect(m_navOrders, &QPushButton::clicked, this, &MainWindow::showOrders);
    connect(m_navRun, &QPushButton::clicked, this, [this] { setScreen(m_run); });
    connect(m_navAudit, &QPushButton::clicked, this, &MainWindow::showAudit);
    connect(m_logout, &QPushButton::clicked, this, [this] { logOut(); });
    return bar;
}

QWidget* MainWindow::currentScreen() const {
    return m_stack->currentWidget();
}

bool MainWindow::canAdminister() const {
    return m_user && (m_user->role == db::Role::Supervisor || m_user->role == db::Role::Engineer);
}

void MainWindow::setScreen(QWidget* screen) {
    m_stack->setCurrentWidget(screen);
    const bool in = m_user.has_value();
    m_navOrders->setVisible(in);
    m_navRun->setVisible(in && !m_controller->order().id.isEmpty());
    m_navAudit->setVisible(in && canAdminister());
    m_logout->setVisible(in);
    m_userLabel->setText(in ? tr("%1 (%2)").arg(m_user->name, db::roleName(m_user->role))
                            : QString());
    m_navOrders->setChecked(screen == m_orders);
    m_navRun->setChecked(screen == m_run);
    m_navAudit->setChecked(screen == m_audit);
    screen->setFocus();
}

void MainWindow::logOut(const QString& message) {
    // The run, if any, stops taking devices; the steps under way finish in the background.
    if (m_controller->isActive()) {
        m_sessionEnded = true;
        m_controller->stop();
    }
    m_user.reset();
    m_idle->setArmed(false);
    if (m_createDialog)
        m_createDialog->reject();
    m_orders->setCanAdminister(false);
    m_login->reset(message);
    setScreen(m_login);
}

void MainWindow::logIn(const QString& name, const QString& pin) {
    m_login->setBusy(true);
    m_worker->request<db::OperatorAccount>(
        this,
        [name, pin](station::StationContext&, db::Database& db) {
            return ui::logIn(db, name, pin);
        },
        [this](Result<db::OperatorAccount> who) {
            m_login->setBusy(false);
            if (!who) {
                // The same words for an unknown name and a wrong PIN (db/ makes them alike).
                m_login->reset(who.error().code() == ErrorCode::Refused
                                   ? tr("Operator ID or PIN not accepted. Try again.")
                                   : tr("Cannot check the log-in: %1").arg(who.error().toString()));
                return;
            }
            m_user = *who;
            m_orders->setCanAdminister(canAdminister());
            m_idle->setArmed(true);
            showOrders();
        });
}

void MainWindow::showOrders() {
    setScreen(m_orders);
    refreshOrders();
    refreshAttention();
}

void MainWindow::showAudit() {
    if (!canAdminister())
        return;
    setScreen(m_audit);
    refreshOrders();
}

void MainWindow::refreshOrders() {
    m_orders->setBusy(true);
    m_worker->request<std::vector<station::OrderSummary>>(
        this, [](station::StationContext&, db::Database& db) { return openOrders(db); },
        [this](Result<std::vector<station::OrderSummary>> orders) {
            m_orders->setBusy(false);
            if (!orders) {
                m_orders->showMessage(orders.error().toString());
                return;
            }
            m_orderList = *orders;
            m_audit->setOrders(m_orderList);
            m_orders->setOrders(std::move(*orders));
        });
}

void MainWindow::refreshAttention() {
    // The HSM is opened to check it: only while no run holds it (one per process).
    if (m_controller->isActive())
        return;
    m_worker->request<Attention>(
        this,
        [](station::StationContext& context, db::Database& db) -> Result<Attention> {
            return checkAttention(context, db);
        },
        [this](Result<Attention> a) {
            if (!a)
                return;
            m_banner->set(Topic::Hsm,
                          a->hsmProblem.isEmpty()
                              ? QString()
                              : tr("HSM missing or locked: nothing can be provisioned. Call the "
                                   "engineer. (%1)")
                                    .arg(a->hsmProblem));
            m_banner->set(Topic::Backend,
                          a->backendProblem.isEmpty()
                              ? QString()
                              : tr("Back-end unreachable: %n registration(s) waiting. Devices "
                                   "are safe; tell the engineer.",
                                   nullptr, a->pendingRegistrations));
        });
}

bool MainWindow::adminAllowedNow() {
    if (!m_controller->isActive())
        return true;
    m_orders->showMessage(tr("Stop the run first: it is using the key module."));
    return false;
}

void MainWindow::runOrder(const db::Order& order) {
    if (m_controller->isActive() && m_controller->order().id != order.id) {
        m_orders->showMessage(
            tr("Order %1 is running. Stop it first.").arg(m_controller->order().id));
        return;
    }
    for (const station::OrderSummary& s : m_orderList)
        if (s.order.id == order.id)
            m_run->setOrder(s);
    m_banner->clear(Topic::Quota);
    m_banner->clear(Topic::Run);
    setScreen(m_run);
    if (!m_controller->isActive()) {
        m_sessionEnded = false;
        m_controller->start(order, m_user ? m_user->name : QString());
    }
    setScreen(m_run);
}

void MainWindow::startOrResume() {
    m_banner->clear(Topic::Run);
    if (m_sessionEnded) {
        m_sessionEnded = false;
        m_controller->start(m_controller->order(), m_user ? m_user->name : QString());
    } else {
        m_controller->resume();
    }
}

void MainWindow::onRunEnded(const QString& stopReason, const QString& error, bool) {
    refreshRemaining();
    if (!error.isEmpty()) {
        m_banner->set(Topic::Run, tr("The run stopped: %1. Call the engineer.").arg(error));
        if (error.contains(QLatin1String("HSM"), Qt::CaseInsensitive) ||
            error.contains(QLatin1String("token"), Qt::CaseInsensitive) ||
            error.contains(QLatin1String("PKCS"), Qt::CaseInsensitive))
            m_banner->set(Topic::Hsm, tr("HSM missing or locked: nothing can be provisioned. "
                                         "Call the engineer."));
        return;
    }
    if (stopReason == QLatin1String("order complete")) {
        m_sessionEnded = true;
        m_banner->set(Topic::Quota,
                      tr("Order %1 is complete: its quantity of %2 is reached. Unplug the "
                         "devices left and pick another order.")
                          .arg(m_controller->order().id)
                          .arg(m_controller->order().quantity));
    }
}

void MainWindow::refreshRemaining() {
    const QString id = m_controller->order().id;
    if (id.isEmpty())
        return;
    m_worker->request<station::OrderSummary>(
        this, [id](station::StationContext&, db::Database& db) { return orderSummary(db, id); },
        [this](Result<station::OrderSummary> s) {
            if (s && s->order.id == m_controller->order().id)
                m_run->setRemaining(s->counts.remaining(s->order));
        });
}

} // namespace keyline::ui
