using System.Device.Gpio;
using System.Net;
using CareGateway.Hardware;
using CareGateway.IntegrationTests;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Sensors;
using CareGateway.Tests;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// Issue 18: acting on a gateway from the console, end to end: the centre service and a whole gateway on the
/// simulated board, on a real Mosquitto. A profile is previewed on the gateway's own recent events, a bad value is
/// refused with its field, a good one is sent and applied, a test alarm comes back; each command is listed with its answer.
/// </summary>
public sealed class GatewayCommandTests
{
    private const string Password = "correct horse battery";
    private const int DoorLine = 17;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private const string WithWandering = """
        {
          // comments are allowed, as in the gateway's own files
          "timeZone": "Europe/Oslo",
          "nightWindow": { "start": "22:00", "end": "06:00" },
          "wandering": { "enabled": true, "graceMinutes": 5 },
        }
        """;

    [Fact]
    public async Task A_profile_is_previewed_on_the_gateways_last_days_refused_field_by_field_sent_and_applied_and_a_test_alarm_comes_back()
    {
        await using var broker = await MosquittoBroker.StartAsync();
        using var dir = new TempDir();
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(dir.File("centre.db"), broker.Port));
        await centre.AddUserAsync("admin", Roles.Admin, Password);
        var events = centre.Events.Subscribe();

        // The home: an outer door on the simulated board, and a live profile without the wandering rule.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 0, 50, 0, TimeSpan.Zero)); // 01:50 in Oslo
        var board = new SimulatedBoard();
        board.SetInput(DoorLine, PinValue.Low);
        using var gpio = new GpioController(board);
        var config = new GatewayConfig
        {
            GatewayId = "gw-cmd-ui",
            DataDirectory = dir.File("gateway"),
            Broker = new BrokerConfig { Host = broker.Host, Port = broker.Port },
            Board = new BoardConfig { Driver = BoardDriver.Simulated },
            CareProfile = new CareProfileConfig { Wandering = new WanderingConfig { Enabled = false } },
            Sensors =
            [
                new SensorDefinition
                {
                    Id = "door-front", Kind = SensorKind.Door, Room = "hallway", OuterDoor = true,
                    Gpio = new GpioInputOptions { Line = DoorLine, ActiveLevel = ActiveLevel.High, Pull = PullMode.Up, DebounceMs = 50 },
                },
            ],
        };
        await using var gateway = new GatewayRuntime(config, gpio, clock, NullLoggerFactory.Instance);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Uplink.Connected += () => connected.TrySetResult();
        using var stop = new CancellationTokenSource();
        var running = gateway.RunAsync(stop.Token);
        await connected.Task.WaitAsync(Bound);

        // At night the door opens and closes and nobody comes back in; 10 minutes pass. The live profile says nothing.
        await SetAsync(board, clock, gateway, PinValue.High);
        clock.Advance(TimeSpan.FromSeconds(30));
        await SetAsync(board, clock, gateway, PinValue.Low);
        clock.Advance(TimeSpan.FromMinutes(10));
        await gateway.Rules.DrainAsync();
        Assert.Equal(0, gateway.Outbox.LastSeq);

        using var admin = new ConsoleHttpTests.Browser(centre.BaseUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await admin.LoginAsync("admin", Password)).StatusCode);
        var page = await admin.Http.GetStringAsync("/homes/gw-cmd-ui");
        Assert.Contains("data-live-src=\"/homes/gw-cmd-ui/commands\"", page, StringComparison.Ordinal);

        // 1. Preview: the gateway replays its own recording with the new profile; nothing is applied.
        var preview = await PostAsync(admin, "/homes/gw-cmd-ui/profile", ("careProfile", WithWandering), ("action", "preview"));
        Assert.Equal(HttpStatusCode.Redirect, preview.StatusCode);
        var previewed = await AnsweredAsync(centre, events, CommandKind.PreviewCareProfile);
        Assert.True(previewed.Status == "ok", previewed.Reason);
        var list = WebUtility.HtmlDecode(await admin.Http.GetStringAsync("/homes/gw-cmd-ui/commands"));
        Assert.Contains("<li data-type=\"wandering\">", list, StringComparison.Ordinal);
        Assert.Contains("2 sensorhendelser, 1 alarm(er) med denne profilen", list, StringComparison.Ordinal);
        Assert.False(gateway.Profile.Wandering.Enabled);

        // 2. A bad value: refused by the gateway with its field, nothing applied. Bad JSON never leaves the centre.
        await PostAsync(admin, "/homes/gw-cmd-ui/profile", ("careProfile", """{ "nightWindow": { "start": "25:00", "end": "06:00" } }"""), ("action", "preview"));
        var refused = await AnsweredAsync(centre, events, CommandKind.PreviewCareProfile, after: previewed.CommandId);
        Assert.Equal("rejected", refused.Status);
        Assert.Contains("$.careProfile.nightWindow.start", refused.Reason, StringComparison.Ordinal);
        Assert.Contains("$.careProfile.nightWindow.start", WebUtility.HtmlDecode(await admin.Http.GetStringAsync("/homes/gw-cmd-ui/commands")), StringComparison.Ordinal);
        var syntax = await PostAsync(admin, "/homes/gw-cmd-ui/profile", ("careProfile", "{\n  \"timeZone\": \"Europe/Oslo\"\n  \"wandering\": {}\n}"), ("action", "send"));
        Assert.Equal(HttpStatusCode.BadRequest, syntax.StatusCode);
        var said = await syntax.Content.ReadAsStringAsync();
        Assert.StartsWith("Care profile, line 3, column 3: not valid JSON", said, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", said, StringComparison.Ordinal);

        // 3. Sent: validated, stored and in use at the gateway.
        await PostAsync(admin, "/homes/gw-cmd-ui/profile", ("careProfile", WithWandering), ("action", "send"));
        var sent = await AnsweredAsync(centre, events, CommandKind.ReplaceCareProfile);
        Assert.True(sent.Status == "ok", sent.Reason);
        Assert.True(gateway.Profile.Wandering.Enabled);

        // 4. A test alarm: the command's answer and the alarm itself reach the centre.
        await PostAsync(admin, "/homes/gw-cmd-ui/commands", ("command", CommandKind.TestAlarm));
        var test = await AnsweredAsync(centre, events, CommandKind.TestAlarm);
        Assert.True(test.Status == "ok", test.Reason);
        var audit = await centre.Store.AuditAsync(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1), 1000, default);
        Assert.Equal(4, audit.Count(e => e.Action == "POST /homes/{gateway}/profile")); // the bad JSON too, refused
        Assert.Contains(audit, e => (e.Action, e.Target) == ("POST /homes/{gateway}/commands", "gateway=gw-cmd-ui"));

        await stop.CancelAsync();
        try
        {
            await running.WaitAsync(Bound);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(ConsoleHttpTests.Browser browser, string path, params (string, string)[] fields) =>
        await browser.PostAsync(path, [("csrf", await browser.TokenAsync("/homes/gw-cmd-ui")), .. fields]);

    /// <summary>Moves a debounced input and waits until the rules have seen it.</summary>
    private static async Task SetAsync(SimulatedBoard board, FakeTimeProvider clock, GatewayRuntime gateway, PinValue level)
    {
        board.SetInput(DoorLine, level);
        clock.Advance(TimeSpan.FromMilliseconds(100));
        await gateway.Rules.DrainAsync();
    }

    /// <summary>The newest command of this kind (after <paramref name="after"/>), once its answer is stored: waits on the consoles' events.</summary>
    private static async Task<GatewayCommandRecord> AnsweredAsync(CentreHost centre, System.Threading.Channels.Channel<string> events, string command, string? after = null)
    {
        using var timeout = new CancellationTokenSource(Bound);
        while (true)
        {
            var newest = (await centre.Store.CommandsAsync("gw-cmd-ui", 50, default)).FirstOrDefault(c => c.Command == command && c.CommandId != after);
            if (newest is { Status: not null })
            {
                return newest;
            }

            try
            {
                await events.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"no answer to {command} within {Bound.TotalSeconds} s: {newest?.Attempts} sendings");
            }
        }
    }
}
