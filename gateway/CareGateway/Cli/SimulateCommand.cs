using System.CommandLine;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CareGateway.Sensors;
using Spectre.Console;

namespace CareGateway.Cli;

/// <summary>
/// <c>care-gateway simulate press|release|open|close|trip|clear SENSOR</c>: acts on a wired sensor of a running gateway
/// on the simulated board, through its socket in the data directory (<see cref="SimulatedInputServer"/>), so a bench
/// without hardware sees a door open or a button pressed exactly as the service would from a real contact.
/// </summary>
public static class SimulateCommand
{
    /// <summary>Each action: its word, whether it makes the sensor active, and how it reads afterwards.</summary>
    internal static readonly IReadOnlyList<(string Verb, bool Active, string Done)> Actions =
    [
        ("press", true, "pressed"),
        ("release", false, "released"),
        ("open", true, "opened"),
        ("close", false, "closed"),
        ("trip", true, "tripped"),
        ("clear", false, "cleared"),
    ];

    private static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);

    public static Command Create()
    {
        var simulate = new Command("simulate", "Press, open or trip a wired sensor of the running gateway on the simulated board (a bench without hardware).");
        foreach (var (verb, active, _) in Actions)
        {
            var sensor = new Argument<string>("sensor") { Description = "The sensor's id, as in 'care-gateway sensors list'." };
            var command = new Command(verb, $"Make the sensor {(active ? "active" : "rest")} ({Fits(verb)}).") { sensor };
            command.SetAction((parse, ct) => CliOptions.InvokeAsync(parse, (c, p) => RunAsync(verb, parse.GetValue(sensor)!, p, c, ct)));
            simulate.Subcommands.Add(command);
        }

        return simulate;
    }

    public static async Task<int> RunAsync(string verb, string sensorId, string configPath, CliContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var action = Actions.FirstOrDefault(a => a.Verb == verb);
        if (action.Verb is null)
        {
            throw new CliException($"'{verb}' is not something simulate does.{GatewayCommandLine.DidYouMean(verb, Actions.Select(a => a.Verb))}", $"Use one of: {string.Join(", ", Actions.Select(a => a.Verb))}.");
        }

        var config = ConfigFile.Load(configPath);
        if (config.Board.Driver != BoardDriver.Simulated)
        {
            throw new CliException(
                $"This gateway has a real board (board.driver 'libgpiod' in {configPath}): simulate only drives the simulated board, so it never fakes a real sensor.",
                $"Trigger the sensor itself and watch it with 'care-gateway sensors test {sensorId}'. On a bench without hardware, use a configuration with board.driver 'simulated' (docs/first-alarm.md).");
        }

        var sensor = config.Sensors.FirstOrDefault(s => s.Id == sensorId)
            ?? throw new CliException(
                $"There is no sensor '{sensorId}'.{GatewayCommandLine.DidYouMean(sensorId, config.Sensors.Select(s => s.Id))}",
                config.Sensors.Count == 0
                    ? "Add one first: 'care-gateway sensors add panic-bed --kind panic --room bedroom --pin 13'."
                    : $"'care-gateway sensors list' shows the ids: {string.Join(", ", config.Sensors.Select(s => s.Id))}.");
        if (sensor.Gpio is null)
        {
            throw new CliException(
                $"'{sensor.Id}' is a Zigbee sensor: simulate drives only wired sensors of the simulated board.",
                "Add a wired one for the bench ('care-gateway sensors add ID --kind KIND --room ROOM --pin N'), or publish the device's state to zigbee2mqtt's topic on the local broker.");
        }

        var fits = Fits(sensor.Kind);
        if (!fits.Contains(verb, StringComparer.Ordinal))
        {
            throw new CliException(
                $"'{verb}' does not fit '{sensor.Id}', a {SensorKinds.Name(sensor.Kind)} sensor.",
                $"Use {string.Join(" or ", fits.Select(v => $"'care-gateway simulate {v} {sensor.Id}'"))}.");
        }

        var socketPath = SimulatedInputServer.SocketPath(config.DataDirectory);
        var request = new JsonObject { ["sensor"] = sensor.Id, ["active"] = action.Active }.ToJsonString();
        var reply = await SendAsync(socketPath, request, context.Time, cancellationToken);
        JsonElement answer;
        try
        {
            using var doc = JsonDocument.Parse(reply);
            answer = doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new CliException($"The gateway at {socketPath} gave an answer simulate does not understand.", "Use the care-gateway of the same version as the running service.", ExitCodes.CheckFailed);
        }

        if (!answer.TryGetProperty("ok", out var ok) || ok.ValueKind != JsonValueKind.True)
        {
            throw new CliException(
                answer.TryGetProperty("error", out var e) ? e.GetString() ?? "The gateway refused." : "The gateway refused.",
                answer.TryGetProperty("hint", out var h) ? h.GetString() ?? string.Empty : string.Empty);
        }

        var changed = answer.TryGetProperty("changed", out var c) && c.ValueKind == JsonValueKind.True;
        var line = answer.TryGetProperty("line", out var l) ? l.GetInt32() : 0;
        var level = answer.TryGetProperty("level", out var lv) ? lv.GetString() : null;
        if (context.Json)
        {
            context.WriteJson(new JsonObject
            {
                ["ok"] = true,
                ["sensor"] = sensor.Id,
                ["action"] = verb,
                ["active"] = action.Active,
                ["line"] = line,
                ["level"] = level,
                ["changed"] = changed,
            });
        }
        else
        {
            var undo = Actions.First(a => fits.Contains(a.Verb, StringComparer.Ordinal) && a.Active != action.Active).Verb;
            context.Console.MarkupLine(changed
                ? $"[green]{Markup.Escape(Capitalised(action.Done))}[/] {Markup.Escape(sensor.Id)} ({SensorKinds.Name(sensor.Kind)}, {Markup.Escape(sensor.Room)}) on the running gateway: GPIO {line} is {Markup.Escape(level ?? "?")}."
                : $"{Markup.Escape(sensor.Id)} was already {Markup.Escape(action.Done)} (GPIO {line} is {Markup.Escape(level ?? "?")}): nothing changed.");
            context.Console.MarkupLine(action.Active
                ? $"[yellow]Next:[/] 'care-gateway simulate {undo} {Markup.Escape(sensor.Id)}' puts it back at rest; 'care-gateway status' shows what the gateway reports."
                : "[yellow]Next:[/] 'care-gateway status' shows what the gateway reports.");
        }

        return ExitCodes.Ok;
    }

    /// <summary>The actions that make sense for a kind: open/close for a door, press/release for buttons and the bed mat, trip/clear for every kind.</summary>
    internal static IReadOnlyList<string> Fits(SensorKind kind) => kind switch
    {
        SensorKind.Door => ["open", "close", "trip", "clear"],
        SensorKind.Panic or SensorKind.CancelButton or SensorKind.AwayButton or SensorKind.Bed => ["press", "release", "trip", "clear"],
        _ => ["trip", "clear"],
    };

    private static string Fits(string verb) => verb switch
    {
        "open" or "close" => "a door",
        "press" or "release" => "a button or the bed mat",
        _ => "any sensor",
    };

    private static string Capitalised(string word) => char.ToUpperInvariant(word[0]) + word[1..];

    private static async Task<string> SendAsync(string socketPath, string request, TimeProvider time, CancellationToken cancellationToken)
    {
        var notRunning = new CliException(
            $"No running gateway answers at {socketPath}.",
            "Start the gateway on this configuration first ('care-gateway run --config FILE' in another terminal, or 'systemctl start care-gateway') and run simulate again.",
            ExitCodes.CheckFailed);
        if (!File.Exists(socketPath))
        {
            throw notRunning;
        }

        using var timeout = new CancellationTokenSource(ReplyTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), linked.Token);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request + "\n"), linked.Token);
            return await SimulatedInputServer.ReadLineAsync(stream, linked.Token)
                ?? throw new CliException($"The gateway at {socketPath} closed the connection without an answer.", "Look at the gateway's log ('journalctl -u care-gateway') and try again.", ExitCodes.CheckFailed);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable or SocketError.NotConnected)
        {
            throw notRunning;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AccessDenied)
        {
            throw new CliException($"No permission to talk to the gateway at {socketPath}.", "Run simulate as the gateway's user or a member of its group (or with sudo).", ExitCodes.BadInput);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new CliException($"The gateway at {socketPath} did not answer within {ReplyTimeout.TotalSeconds:0} s.", "Look at the gateway's log ('journalctl -u care-gateway') and try again.", ExitCodes.CheckFailed);
        }
    }
}
