using System.Device.Gpio;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CareGateway.Hardware;
using CareGateway.Protocol;
using CareGateway.ResponseCentre;
using CareGateway.Sensors;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using MQTTnet.Server;

namespace CareGateway.Demo;

/// <summary>
/// <c>dotnet run --project samples/CareGateway.Demo</c>: the whole chain in one process on embedded defaults. An in-process MQTT broker on a free
/// loopback port, a simulated Raspberry Pi board with a front-door contact, a bed mat and a panic button, the real gateway
/// (rules, durable outbox, uplink) and a minimal response centre whose operator accepts and closes each alarm.
/// The scenario runs on a scenario clock (a night in Oslo), so it takes seconds; the network and disk are real.
/// </summary>
public static class Demo
{
    private const int DoorLine = 17;
    private const int PanicLine = 27;
    private const int BedLine = 22;
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(20);

    public static async Task<int> RunAsync(TextWriter output, CancellationToken cancellationToken)
    {
        var dataDir = Directory.CreateTempSubdirectory("care-gateway-demo-");
        try
        {
            return await RunInAsync(dataDir.FullName, output, cancellationToken);
        }
        finally
        {
            TryDelete(dataDir);
        }
    }

    private static async Task<int> RunInAsync(string dataDir, TextWriter output, CancellationToken cancellationToken)
    {
        using var logs = LoggerFactory.Create(b => b
            .SetMinimumLevel(LogLevel.Warning)
            .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

        // 01:50 on a winter night in Oslo (UTC+1).
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 0, 50, 0, TimeSpan.Zero));
        var oslo = TimeZoneInfo.FindSystemTimeZoneById("Europe/Oslo");
        var say = new Narrator(output, clock, oslo);

        var port = FreeLoopbackPort();
        var serverOptions = new MqttServerOptionsBuilder()
            .WithDefaultEndpoint()
            .WithDefaultEndpointBoundIPAddress(IPAddress.Loopback)
            .WithDefaultEndpointPort(port)
            .WithPersistentSessions()
            .Build();
        using var broker = new MqttServerFactory().CreateMqttServer(serverOptions);
        await broker.StartAsync();
        say.Line("broker", $"in-process MQTT broker listening on 127.0.0.1:{port}");

        var config = DemoConfig(port, dataDir);
        var board = new SimulatedBoard();
        board.SetInput(DoorLine, PinValue.Low);   // door closed: the reed switch holds the line low
        board.SetInput(PanicLine, PinValue.High); // button released: the pull-up holds the line high
        board.SetInput(BedLine, PinValue.Low);    // bed mat empty: the pull-down holds the line low
        using var gpio = new GpioController(board);
        say.Line("board", $"simulated Raspberry Pi: front-door contact on GPIO {DoorLine}, bed mat on GPIO {BedLine}, panic button on GPIO {PanicLine}");

        await using var gateway = new GatewayRuntime(config, gpio, clock, logs);
        await using var centre = new CentreReceiver(new CentreOptions { Host = "127.0.0.1", Port = port, CentreId = "centre-demo" }, clock, logs.CreateLogger("centre"));
        WireNarration(say, gateway, centre, cancellationToken);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await centre.StartAsync(stop.Token);
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gateway.Uplink.Connected += () => connected.TrySetResult();
        var running = gateway.RunAsync(stop.Token);
        await connected.Task.WaitAsync(SettleTimeout, cancellationToken);

        var ok = true;
        say.Line("scenario", "night window 22:00-06:00: bed-exit after 10 min in bed and 5 min out, wandering grace 5 min");

        say.Line("scenario", "the resident lies down in bed");
        board.SetInput(BedLine, PinValue.High);
        await Step(clock, gateway);

        clock.Advance(TimeSpan.FromMinutes(23.5));
        say.Line("scenario", "the resident gets out of bed");
        board.SetInput(BedLine, PinValue.Low);
        await Step(clock, gateway);

        clock.Advance(TimeSpan.FromSeconds(30));
        say.Line("scenario", "the front door opens (the contact bounces on the way)");
        board.Bounce(DoorLine, PinValue.High, toggles: 4);
        await Step(clock, gateway);

        clock.Advance(TimeSpan.FromSeconds(30));
        say.Line("scenario", "the front door closes; nobody is seen inside afterwards");
        board.SetInput(DoorLine, PinValue.Low);
        await Step(clock, gateway);

        // Out of bed for 5 minutes: bed-exit (at 02:18:30); nobody back inside 5 minutes after the door: wandering (02:19).
        clock.Advance(TimeSpan.FromSeconds(250));
        await gateway.Rules.DrainAsync();
        ok &= await WaitUntilClosedAsync(gateway, cancellationToken);

        clock.Advance(TimeSpan.FromSeconds(30));
        await gateway.Rules.DrainAsync();
        ok &= await WaitUntilClosedAsync(gateway, cancellationToken);

        clock.Advance(TimeSpan.FromMinutes(2));
        say.Line("scenario", "the panic button in the bedroom is pressed");
        board.SetInput(PanicLine, PinValue.Low);
        await Step(clock, gateway);
        board.SetInput(PanicLine, PinValue.High);
        await Step(clock, gateway);
        ok &= await WaitUntilClosedAsync(gateway, cancellationToken);

        await stop.CancelAsync();
        try
        {
            await running;
        }
        catch (OperationCanceledException)
        {
        }

        await centre.DisposeAsync();
        await broker.StopAsync();

        var alarms = gateway.Outbox.All();
        var raised = alarms.Count;
        var received = alarms.Count(a => a.Ack >= AckState.Received);
        var accepted = alarms.Count(a => a.Ack >= AckState.Accepted);
        var closed = alarms.Count(a => a.Ack >= AckState.Closed);
        var atCentre = centre.Alarms.Count;
        var copies = centre.Alarms.Sum(a => a.Duplicates);
        ok &= raised == 3 && closed == raised && atCentre == raised;
        await output.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"Summary: {raised} alarms raised, {received} received, {accepted} accepted, {closed} closed by the centre; {atCentre} stored at the centre, {copies} duplicate copies dropped; {(ok ? "demo OK" : "demo FAILED")}"));
        return ok ? 0 : 1;
    }

    private static GatewayConfig DemoConfig(int port, string dataDir) => new()
    {
        GatewayId = "gw-demo-0001",
        DataDirectory = dataDir,
        Broker = new BrokerConfig { Host = "127.0.0.1", Port = port, HeartbeatSeconds = 60, ResendAfterSeconds = 15 },
        Board = new BoardConfig { Driver = BoardDriver.Simulated },
        Sensors =
        [
            new SensorDefinition
            {
                Id = "door-front", Kind = SensorKind.Door, Room = "hallway", OuterDoor = true,
                Gpio = new GpioInputOptions { Line = DoorLine, ActiveLevel = ActiveLevel.High, Pull = PullMode.Up, DebounceMs = 50 },
            },
            new SensorDefinition
            {
                Id = "bed-bedroom", Kind = SensorKind.Bed, Room = "bedroom",
                Gpio = new GpioInputOptions { Line = BedLine, ActiveLevel = ActiveLevel.High, Pull = PullMode.Down, DebounceMs = 50 },
            },
            new SensorDefinition
            {
                Id = "panic-bedroom", Kind = SensorKind.Panic, Room = "bedroom",
                Gpio = new GpioInputOptions { Line = PanicLine, ActiveLevel = ActiveLevel.Low, Pull = PullMode.Up, DebounceMs = 30 },
            },
        ],
    };

    private static void WireNarration(Narrator say, GatewayRuntime gateway, CentreReceiver centre, CancellationToken ct)
    {
        gateway.Rules.EventSeen += e =>
            say.Line("gateway", $"sensor {e.SensorId} ({e.Kind.ToString().ToLowerInvariant()}, {e.Room}): {Describe(e)}");
        gateway.Raiser.Stored += (alarm, seq) =>
            say.Line("gateway", $"raised '{alarm.Type}' alarm #{seq} (VKP {alarm.VkpCode}, triage {alarm.Triage}), stored on disk: {alarm.Reason}");
        gateway.Uplink.AlarmSent += m =>
            say.Line("gateway", $"alarm #{m.Seq} published on care/v1/{m.GatewayId}/alarm, broker confirmed (attempt {m.Attempt})");
        gateway.Uplink.AckReceived += (ack, outcome) =>
            say.Line("gateway", $"recorded '{ack.State.ToString().ToLowerInvariant()}' from {ack.By} for alarm #{gateway.Outbox.Find(ack.AlarmId)?.Seq}{(outcome == Uplink.AckOutcome.Applied ? string.Empty : $" ({outcome})")}");
        centre.AlarmReceived += (received, duplicate) =>
        {
            var a = received.Alarm;
            if (duplicate)
            {
                say.Line("centre", $"dropped a duplicate copy of alarm #{a.Seq}");
                return;
            }

            say.Line("centre", $"stored '{a.Type}' from {a.GatewayId}, room {a.Room}, priority {a.Priority.ToWire()}; answered 'received'");
            _ = Task.Run(
                async () =>
                {
                    // The demo's operator takes the alarm, then closes it with a note.
                    await centre.AcknowledgeAsync(a.GatewayId, a.AlarmId, AckState.Accepted, "operator-demo", null, ct);
                    say.Line("centre", $"operator-demo accepted alarm #{a.Seq}");
                    await centre.AcknowledgeAsync(a.GatewayId, a.AlarmId, AckState.Closed, "operator-demo", "Called the resident; help sent", ct);
                    say.Line("centre", $"operator-demo closed alarm #{a.Seq}");
                },
                ct);
        };
    }

    private static string Describe(SensorEvent e) => (e.Kind, e.Active) switch
    {
        (SensorKind.Door, true) => "open",
        (SensorKind.Door, false) => "closed",
        (SensorKind.Panic, true) => "pressed",
        (SensorKind.Panic, false) => "released",
        (SensorKind.Bed, true) => "occupied",
        (SensorKind.Bed, false) => "empty",
        (_, true) => "active",
        _ => "inactive",
    };

    /// <summary>Lets debounce timers run out and waits until the rules have seen the result.</summary>
    private static Task Step(FakeTimeProvider clock, GatewayRuntime gateway)
    {
        clock.Advance(TimeSpan.FromMilliseconds(100));
        return gateway.Rules.DrainAsync();
    }

    private static async Task<bool> WaitUntilClosedAsync(GatewayRuntime gateway, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + SettleTimeout;
        while (DateTime.UtcNow < deadline)
        {
            var all = gateway.Outbox.All();
            if (all.Count > 0 && all.All(a => a.Ack == AckState.Closed))
            {
                return true;
            }

            await Task.Delay(20, ct);
        }

        return false;
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void TryDelete(DirectoryInfo dir)
    {
        try
        {
            dir.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private sealed class Narrator(TextWriter output, TimeProvider clock, TimeZoneInfo zone)
    {
        private readonly Lock _gate = new();

        public void Line(string who, string text)
        {
            var local = TimeZoneInfo.ConvertTime(clock.GetUtcNow(), zone);
            lock (_gate)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{local:HH:mm:ss}] {who,-8} {text}"));
            }
        }
    }
}
