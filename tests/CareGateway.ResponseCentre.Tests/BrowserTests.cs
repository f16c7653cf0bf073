using CareGateway.IntegrationTests;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// The console in real headless Chromium (Debian's package, driven by Playwright with its own browser download off):
/// a gateway raises an alarm, it appears in the queue without a reload, the operator accepts it, and the gateway's
/// outbox records 'accepted'.
/// </summary>
public sealed class BrowserTests
{
    private const string Password = "correct horse battery";

    public static string ChromiumPath { get; } =
        new[] { "/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("Chromium is not installed: run ./test.sh, which installs it (apt-get install chromium).");

    // Playwright gives Chromium a fresh, empty profile directory of its own.
    public static async Task<IBrowser> LaunchAsync(IPlaywright playwright) =>
        await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            ChromiumSandbox = false,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
            ],
        });

    [Fact]
    public async Task An_alarm_appears_live_in_the_queue_and_the_operator_accepts_it_so_the_gateway_records_accepted()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port));
        await centre.AddUserAsync("kari", Roles.Operator, Password);
        await centre.Store.SetGatewayLabelAsync("gw-web-1", "Kunde 1042", "Bydel Nord", default);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 700 } });
        page.SetDefaultTimeout(30_000);

        // Not logged in: the queue sends the operator to the login page.
        await page.GotoAsync(centre.BaseUrl + "/");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        await page.FillAsync("input[name=username]", "kari");
        await page.FillAsync("input[name=password]", Password);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("#queue");
        await page.WaitForSelectorAsync("#live:has-text('Direkte')"); // the event stream is open
        await page.EvaluateAsync("window.__noReload = true");

        // The gateway raises a fall alarm; it shows up without a reload.
        await using var gateway = new Gateway("gw-web-1", broker.Port, dir.File("outbox.db"));
        var id = await gateway.RaiseAsync(AlarmType.Fall, "bathroom");
        var row = page.Locator($"tr[data-alarm-id='{id}']");
        await page.Locator($"tr.new[data-alarm-id='{id}']").WaitForAsync(); // arrives marked: the visual cue
        Assert.True(await page.EvaluateAsync<bool>("window.__noReload === true"));
        var text = await row.InnerTextAsync();
        Assert.Contains("Kunde 1042", text, StringComparison.Ordinal);
        Assert.Contains("Bad", text, StringComparison.Ordinal);
        Assert.Contains("Fall", text, StringComparison.Ordinal);
        Assert.Contains("Kritisk", text, StringComparison.Ordinal);
        await gateway.WaitForAckAsync(id, AckState.Received);

        if (Environment.GetEnvironmentVariable("CENTRE_SCREENSHOT") is { Length: > 0 } shot)
        {
            var second = await gateway.RaiseAsync(AlarmType.Wandering, "hallway");
            await page.Locator($"tr[data-alarm-id='{second}']").WaitForAsync();
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = shot, FullPage = true });
        }

        await row.Locator("button.accept").ClickAsync();
        await gateway.WaitForAckAsync(id, AckState.Accepted);
        Assert.Equal(AckState.Accepted, gateway.Outbox.Find(id)!.Ack);
        Assert.Equal(HandlingStatus.Accepted, (await centre.Store.GetAlarmAsync(new AlarmKey(gateway.Id, id), default))!.Status);

        // Close it with a note as a false alarm: it leaves the queue.
        await page.Locator($"tr[data-alarm-id='{id}'] input[name=note]").FillAsync("Ringte, falt ikke");
        await page.Locator($"tr[data-alarm-id='{id}'] select[name=outcome]").SelectOptionAsync(CloseOutcome.FalseAlarm);
        await page.Locator($"tr[data-alarm-id='{id}'] button.close").ClickAsync();
        await gateway.WaitForAckAsync(id, AckState.Closed);
        await page.Locator($"tr[data-alarm-id='{id}']").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
        Assert.Equal(CloseOutcome.FalseAlarm, (await centre.Store.GetAlarmAsync(new AlarmKey(gateway.Id, id), default))!.Outcome);

        // The language switch brings the operator back to the same page, in English.
        await page.GotoAsync($"{centre.BaseUrl}/history");
        await page.ClickAsync("form[action='/lang'] button");
        await page.WaitForSelectorAsync("h1:has-text('History')");
        Assert.EndsWith("/history", page.Url, StringComparison.Ordinal);

        if (Environment.GetEnvironmentVariable("CENTRE_SCREENSHOT") is { Length: > 0 } more)
        {
            foreach (var pageName in new[] { "figures", "gateways", "history" })
            {
                await page.GotoAsync($"{centre.BaseUrl}/{pageName}");
                await page.ScreenshotAsync(new PageScreenshotOptions { Path = more.Replace(".png", $"-{pageName}.png", StringComparison.Ordinal), FullPage = true });
            }
        }
    }

    /// <summary>
    /// Issue 13 in one chain: an alarm nobody accepts in its time alerts again and shows as escalated (the centre on a
    /// fake clock, advanced by the test); the operator accepts it, and the home's simulated board lights the help LED.
    /// </summary>
    [Fact]
    public async Task An_alarm_not_accepted_in_time_shows_as_escalated_and_accepting_it_lights_help_is_on_the_way_at_home()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port), services: s => s.AddSingleton<TimeProvider>(clock));
        await centre.AddUserAsync("siri", Roles.Supervisor, Password);

        // The home: the gateway's real uplink, and its board (simulated) with a green help LED.
        const int GreenPin = 21;
        var board = new CareGateway.Hardware.SimulatedBoard();
        using var gpio = new System.Device.Gpio.GpioController(board);
        using var indicator = new CareGateway.Hardware.GpioAlarmIndicator(gpio, null, [new CareGateway.Hardware.LedLine("green", new CareGateway.Hardware.GpioOutputLine(GreenPin, true))]);
        await using var gateway = new Gateway("gw-web-2", broker.Port, dir.File("outbox.db"));
        var help = new CareGateway.HelpOnTheWay(new CareGateway.LocalOutputs(indicator), gateway.Outbox, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var helpLit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        board.OutputWritten += (pin, level) => { if (pin == GreenPin && level == System.Device.Gpio.PinValue.High) { helpLit.TrySetResult(); } };
        gateway.Uplink.AckReceived += help.OnAck;

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(30_000);
        await page.GotoAsync(centre.BaseUrl + "/login");
        await page.FillAsync("input[name=username]", "siri");
        await page.FillAsync("input[name=password]", Password);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("#live:has-text('Direkte')");

        var id = await gateway.RaiseAsync(AlarmType.Panic, "bedroom");
        await page.Locator($"tr[data-alarm-id='{id}']").WaitForAsync();
        Assert.Equal(0, await page.Locator($"tr.escalated[data-alarm-id='{id}']").CountAsync());

        // A minute passes at the centre with nobody accepting: the health loop's next tick escalates it.
        clock.Advance(TimeSpan.FromSeconds(61));
        await page.Locator($"tr.escalated.new[data-alarm-id='{id}']").WaitForAsync(); // marked, and flashed again
        Assert.Contains("eskalert til deg", await page.Locator("tr.escalation-banner").InnerTextAsync(), StringComparison.Ordinal);
        Assert.Contains("Ikke tatt imot i tide", await page.Locator($"tr[data-alarm-id='{id}']").InnerTextAsync(), StringComparison.Ordinal);

        await page.Locator($"tr[data-alarm-id='{id}'] button.accept").ClickAsync();
        await gateway.WaitForAckAsync(id, AckState.Accepted);
        await helpLit.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(System.Device.Gpio.PinValue.High, board.Level(GreenPin)); // help is on the way, shown at home
        await page.Locator("tr.escalation-banner").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
    }

    [Fact]
    public async Task An_operator_with_a_second_factor_logs_in_with_the_password_and_then_the_code_of_her_app()
    {
        using var dir = new TempDir();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), brokerPort: null));
        var kari = await centre.AddUserAsync("kari", Roles.Operator, Password);
        var (_, _, secret) = await Service.Web.TotpCommand.EnrolAsync(centre.Store, kari, default);
        var time = centre.App.Services.GetRequiredService<TimeProvider>();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(30_000);

        await page.GotoAsync(centre.BaseUrl + "/history");
        await page.FillAsync("input[name=username]", "kari");
        await page.FillAsync("input[name=password]", Password);
        await page.ClickAsync("button[type=submit]");

        // The password was right: the code page, no session yet.
        await page.WaitForSelectorAsync("input[name=code]");
        Assert.EndsWith("/login", page.Url, StringComparison.Ordinal);
        await page.FillAsync("input[name=code]", "000000" == Code() ? "111111" : "000000");
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("p.error:has-text('Feil kode')");

        // The code the operator's app shows now, computed as the app does, from the secret and the centre's time.
        await page.FillAsync("input[name=code]", Code());
        await page.ClickAsync("button[type=submit]");
        await page.WaitForSelectorAsync("h1:has-text('Historikk')"); // back on the page she asked for
        Assert.EndsWith("/history", page.Url, StringComparison.Ordinal);

        string Code() => new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes(secret)).ComputeTotp(time.GetUtcNow().UtcDateTime);
    }
}
