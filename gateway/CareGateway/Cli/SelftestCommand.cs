using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Uplink;
using MQTTnet;
using Spectre.Console;

namespace CareGateway.Cli;

/// <summary>One line of the selftest report.</summary>
public sealed record SelftestCheck(string Name, string Result, string Detail)
{
    public const string Ok = "ok";
    public const string Failed = "failed";
    public const string Unknown = "unknown";
}

public sealed record SelftestOptions
{
    /// <summary>How long the centre has to acknowledge the test alarm as received.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>How long to wait for the retained status of the running gateway.</summary>
    public TimeSpan StatusTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Skip the board check (a bench without the HAT).</summary>
    public bool SkipBoard { get; init; }

    /// <summary>Reads whether the clock is synchronized: "yes", "no" or null (unknown). Default: timedatectl.</summary>
    public Func<string?>? TimeSync { get; init; }
}

/// <summary>
/// <c>care-gateway selftest</c>: the board opens, the running service is connected to the centre (its retained
/// status), each sensor reported recently with a good battery (its retained sensor status), the broker connection
/// and TLS work with this gateway's credentials, the clock is synchronized, and a <c>test</c> alarm put into the outbox
/// is carried to the centre by the running service and acknowledged as received. Exit 0 only when nothing failed.
/// </summary>
public static class SelftestCommand
{
    public static Command Create()
    {
        var ack = new Option<int>("--ack-timeout") { Description = "Seconds the centre has to acknowledge the test alarm.", DefaultValueFactory = _ => 90 };
        var skipBoard = new Option<bool>("--skip-board") { Description = "Do not open the GPIO board (a bench without the sensor board)." };
        var command = new Command("selftest", "Check the board, sensors, broker, clock and a test alarm end to end; exits non-zero when anything failed.") { ack, skipBoard };
        command.SetAction((parse, ct) => CliOptions.InvokeAsync(parse, (c, p) => RunAsync(new SelftestOptions { AckTimeout = TimeSpan.FromSeconds(parse.GetValue(ack)), SkipBoard = parse.GetValue(skipBoard) }, p, c, ct)));
        return command;
    }

    public static async Task<int> RunAsync(SelftestOptions options, string configPath, CliContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        var config = ConfigFile.Load(configPath);
        var checks = new List<SelftestCheck>();
        void Add(string name, string result, string detail)
        {
            checks.Add(new SelftestCheck(name, result, detail));
            context.Say($"{(result == SelftestCheck.Ok ? "[green]ok[/]" : result == SelftestCheck.Failed ? "[red]FAILED[/]" : "[yellow]unknown[/]")}  {Markup.Escape(name)}: {Markup.Escape(detail)}");
        }

        if (!options.SkipBoard && !GatewayRuntime.NeedsGpio(config))
        {
            Add("board", SelftestCheck.Ok, "nothing is wired to GPIO (no GPIO sensors, buzzer or LEDs): no GPIO driver needed");
        }
        else if (!options.SkipBoard)
        {
            try
            {
                using var gpio = SensorsCommand.OpenBoard(config.Board);
                Add("board", SelftestCheck.Ok, $"{config.Board.Driver.ToString().ToLowerInvariant()} driver opened ({config.Board.EffectiveModel()})");
            }
            catch (CliException ex)
            {
                Add("board", SelftestCheck.Failed, ex.Message + " " + ex.Hint);
            }
        }

        if (config.Outbox.ReserveMegabytes > 0)
        {
            var reserve = new FileInfo(Path.Combine(config.DataDirectory, "outbox.db.reserve"));
            var wanted = config.Outbox.ReserveMegabytes * 1024L * 1024;
            Add("disk reserve", reserve.Exists && reserve.Length >= wanted ? SelftestCheck.Ok : SelftestCheck.Failed, reserve.Exists && reserve.Length >= wanted
                ? $"{config.Outbox.ReserveMegabytes} MiB held beside the alarm store for a full disk"
                : $"the {config.Outbox.ReserveMegabytes} MiB disk reserve beside the alarm store is missing ({FreeSpace(config.DataDirectory)}): a full disk would find no room for the next alarm. Free space on the disk and restart the service");
        }

        var sync = (options.TimeSync ?? ReadTimeSync)();
        Add("time sync", sync switch { "yes" => SelftestCheck.Ok, "no" => SelftestCheck.Failed, _ => SelftestCheck.Unknown }, sync switch
        {
            "yes" => "the clock is synchronized (NTP)",
            "no" => "the clock is not synchronized: alarm times would be wrong; check the network and 'timedatectl'",
            _ => "cannot tell (no timedatectl)",
        });

        if (config.IotHub is not null)
        {
            Add("centre connection", SelftestCheck.Unknown, "this gateway uses Azure IoT Hub; selftest checks the MQTT broker path only");
            return Report(context, checks);
        }

        LocalMqtt? mqtt = null;
        try
        {
            mqtt = await LocalMqtt.ConnectAsync(config.Broker.Host, config.Broker.Port, $"{config.GatewayId}-selftest", config.Broker.Username, SensorsCommand.ReadPassword(config.Broker.PasswordFile), cancellationToken, Tls(config.Broker.Tls));
            Add("broker", SelftestCheck.Ok, $"connected to {config.Broker.Host}:{config.Broker.Port} {(config.Broker.Tls is { } t ? $"with TLS{(t.CertFile is not null ? " and this gateway's certificate" : string.Empty)}" : "without TLS")}");
        }
        catch (CliException ex)
        {
            Add("broker", SelftestCheck.Failed, ex.Message + " " + ex.Hint);
        }
        catch (Exception ex) when (ex is IOException or System.Security.Cryptography.CryptographicException or UnauthorizedAccessException)
        {
            Add("broker", SelftestCheck.Failed, $"cannot read the credentials ({ex.Message}); check broker.tls and broker.passwordFile in the configuration");
        }

        if (mqtt is null)
        {
            Add("test alarm", SelftestCheck.Failed, "not sent: no connection to the broker");
            return Report(context, checks);
        }

        await using (mqtt)
        {
            var reports = await GatewayReports.ReadAsync(mqtt, config.GatewayId, options.StatusTimeout, context.Time, cancellationToken);
            var status = reports.Status;
            var online = status is not null && ReadString(status.Payload, "state") == "online";
            Add("gateway service", online ? SelftestCheck.Ok : SelftestCheck.Failed, online
                ? $"connected to the centre since {ReadString(status!.Payload, "since")}"
                : "not connected to the centre: start it with 'sudo systemctl start care-gateway' and read 'journalctl -u care-gateway'");

            foreach (var sensor in config.Sensors)
            {
                Add($"sensor {sensor.Id}", SensorResult(reports.Sensors.GetValueOrDefault(sensor.Id), out var detail), detail);
            }

            if (!online)
            {
                Add("test alarm", SelftestCheck.Failed, "not sent: the gateway service is not connected");
            }
            else
            {
                var (result, detail) = await TestAlarmAsync(config, options.AckTimeout, context, cancellationToken);
                Add("test alarm", result, detail);
            }
        }

        return Report(context, checks);
    }

    private static string SensorResult(JsonElement status, out string detail)
    {
        if (status.ValueKind != JsonValueKind.Object)
        {
            detail = "no report from the gateway yet: trigger it ('care-gateway sensors test') and check its wiring or pairing";
            return SelftestCheck.Failed;
        }

        var parts = new List<string>();
        var lastSeen = status.TryGetProperty("lastSeen", out var ls) && ls.ValueKind == JsonValueKind.String ? ls.GetString() : null;
        parts.Add(lastSeen is null ? "never seen" : $"last seen {lastSeen}");
        if (status.TryGetProperty("batteryPercent", out var b) && b.ValueKind == JsonValueKind.Number)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"battery {b.GetInt32()} %"));
        }

        if (status.TryGetProperty("linkQuality", out var lq) && lq.ValueKind == JsonValueKind.Number)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"link {lq.GetInt32()}"));
        }

        var isOnline = !status.TryGetProperty("online", out var o) || o.ValueKind != JsonValueKind.False;
        var batteryLow = status.TryGetProperty("batteryLow", out var bl) && bl.ValueKind == JsonValueKind.True;
        if (!isOnline)
        {
            parts.Add($"OFFLINE ({(status.TryGetProperty("offlineReason", out var r) ? r.GetString() : "unknown")})");
        }

        if (batteryLow)
        {
            parts.Add("BATTERY LOW: replace it");
        }

        detail = string.Join(", ", parts);
        return isOnline && !batteryLow && lastSeen is not null ? SelftestCheck.Ok : SelftestCheck.Failed;
    }

    /// <summary>
    /// Puts a <c>test</c> alarm into the gateway's own outbox, where the running service picks it up like any alarm
    /// (stored first, sent, re-sent until received), and waits for the centre's <c>received</c> in the outbox.
    /// </summary>
    private static async Task<(string Result, string Detail)> TestAlarmAsync(GatewayConfig config, TimeSpan timeout, CliContext context, CancellationToken cancellationToken)
    {
        var path = Path.Combine(config.DataDirectory, "outbox.db");
        if (!File.Exists(path))
        {
            return (SelftestCheck.Failed, $"no outbox at {path}: is dataDirectory the running service's?");
        }

        using var outbox = new SqliteOutbox(path);
        var profile = ConfigLoader.ToProfile(ProfileCommand.Current(config).Profile);
        var raiser = new AlarmRaiser(outbox, () => profile);
        var alarm = await raiser.RaiseAsync(new AlarmRequest(AlarmType.Test, null, null, "Technician's selftest", context.Time.GetUtcNow()), cancellationToken);
        var started = context.Time.GetTimestamp();
        async Task<AckState?> WaitAsync()
        {
            while (context.Time.GetElapsedTime(started) < timeout)
            {
                if (outbox.Find(alarm.AlarmId)?.Ack is { } ack)
                {
                    return ack;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), context.Time, cancellationToken);
            }

            return null;
        }

        var state = context.Json ? await WaitAsync() : await context.Console.Status().StartAsync($"Test alarm {alarm.AlarmId} stored; waiting up to {timeout.TotalSeconds:0} s for the centre...", _ => WaitAsync());
        return state is null
            ? (SelftestCheck.Failed, $"test alarm {alarm.AlarmId} not acknowledged within {timeout.TotalSeconds:0} s; it stays in the outbox and is sent until the centre answers. Call the centre, and read 'journalctl -u care-gateway'")
            : (SelftestCheck.Ok, $"test alarm {alarm.AlarmId} acknowledged by the centre ({state.Value.ToString().ToLowerInvariant()})");
    }

    private static int Report(CliContext context, List<SelftestCheck> checks)
    {
        var failed = checks.Count(c => c.Result == SelftestCheck.Failed);
        if (context.Json)
        {
            context.WriteJson(new JsonObject
            {
                ["ok"] = failed == 0,
                ["checks"] = new JsonArray([.. checks.Select(c => (JsonNode)new JsonObject { ["name"] = c.Name, ["result"] = c.Result, ["detail"] = c.Detail })]),
            });
        }
        else
        {
            var table = new Table().AddColumn("Check").AddColumn("Result").AddColumn("Detail");
            foreach (var c in checks)
            {
                table.AddRow(Markup.Escape(c.Name), c.Result == SelftestCheck.Ok ? "[green]ok[/]" : c.Result == SelftestCheck.Failed ? "[red]FAILED[/]" : "[yellow]unknown[/]", Markup.Escape(c.Detail));
            }

            context.Console.Write(table);
            context.Console.MarkupLine(failed == 0 ? "[green]Selftest passed.[/]" : $"[red]Selftest failed: {failed} check(s).[/] Fix them as each line says; docs/installation.md has more.");
        }

        return failed == 0 ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }

    private static string? ReadString(byte[] payload, string property)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty(property, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>timedatectl's NTPSynchronized: "yes", "no", or null when it cannot be asked.</summary>
    public static string? ReadTimeSync()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("timedatectl", ["show", "-p", "NTPSynchronized", "--value"]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (process is null)
            {
                return null;
            }

            var output = process.StandardOutput.ReadToEnd().Trim();
            return process.WaitForExit(5000) && process.ExitCode == 0 && output is "yes" or "no" ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    private static string FreeSpace(string directory)
    {
        try
        {
            return $"{new DriveInfo(Path.GetFullPath(directory)).AvailableFreeSpace / (1024 * 1024)} MiB free";
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return "free space unknown";
        }
    }

    /// <summary>The same TLS as the gateway's own connection: the pinned CA, and the client certificate if any.</summary>
    internal static Mqtt.MqttTlsOptions? Tls(TlsConfig? tls) =>
        tls is null ? null : new Mqtt.MqttTlsOptions { CaFile = tls.CaFile, CertFile = tls.CertFile, KeyFile = tls.KeyFile };
}
