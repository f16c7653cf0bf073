using CareGateway.Core;
using CareGateway.Core.Commands;
using CareGateway.Protocol;
using CareGateway.Uplink;
using CareGateway.Uplink.IotHub;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary>The gateway's side of the centre's commands: test alarm, care profile replacement, diagnostics.</summary>
public sealed partial class GatewayRuntime
{
    private DateTimeOffset _startedAt;

    /// <summary>The care profile as stored; a replacement from the centre goes through it.</summary>
    public FileCareProfileStore ProfileStore { get; }

    public CommandExecutor Executor { get; }

    public CommandService Commands { get; }

    public SqliteCommandJournal CommandJournal { get; }

    /// <summary>The sensor events of the last days, in memory, for <c>preview-care-profile</c>.</summary>
    public RecentSensorEvents RecentEvents { get; }

    /// <summary>What <c>request-diagnostics</c> answers: technical state only, no personal data.</summary>
    public DiagnosticsReport Diagnose(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        return new DiagnosticsReport
        {
            UptimeSeconds = Math.Max(0, (long)(time.GetUtcNow() - _startedAt).TotalSeconds),
            PendingAlarms = Outbox.PendingCount,
            LastSeq = Outbox.LastSeq,
            Connection = Uplink.IsConnected ? "connected" : "disconnected",
            Transport = Uplink.TransportName,
            SoftwareVersion = SoftwareVersion,
            SensorCount = Config.Sensors.Count,
        };
    }

    /// <summary><c>preview-care-profile</c> on this gateway's sensors and its recent events (<see cref="ProfilePreviewer"/>).</summary>
    public (ProfilePreview? Preview, IReadOnlyList<string> Errors) PreviewProfile(System.Text.Json.JsonElement careProfileSection) =>
        ProfilePreviewer.Preview(careProfileSection, Config.Sensors, RecentEvents);

    internal static string SoftwareVersion { get; } = typeof(GatewayRuntime).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private (CommandExecutor, CommandService, SqliteCommandJournal) CreateCommands(GatewayConfig config, TimeProvider time, ILoggerFactory logs)
    {
        _startedAt = time.GetUtcNow();
        var journal = new SqliteCommandJournal(Path.Combine(config.DataDirectory, "commands.db"));
        ProfileStore.Replaced += profile =>
        {
            // The raiser reads Profile for priorities at once; the rules take the new profile on their own loop.
            Profile = profile;
            _ = Rules.ReplaceEngineAsync(() => CreateEngine(profile));
        };
        var executor = new CommandExecutor(config.GatewayId, Raiser, ProfileStore, () => Diagnose(time), journal, time, logs.CreateLogger("commands"), Rules.PostAway, Rules.PostVisitor, PreviewProfile);
        if (Uplink.Transport is IotHubTransport hub)
        {
            hub.AttachCommands(executor);
            hub.AttachCareProfile(ProfileStore);
        }

        return (executor, new CommandService(Uplink, executor, logs.CreateLogger("commands")), journal);
    }
}
