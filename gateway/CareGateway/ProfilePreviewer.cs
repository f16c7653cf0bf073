using System.Text;
using System.Text.Json;
using CareGateway.Protocol;
using CareGateway.Sensors;

namespace CareGateway;

/// <summary>
/// What a care profile would have raised here: the profile validated like a replacement from the centre, then the
/// replay's engine (<see cref="Replay.Run"/>) over the gateway's recent sensor events. Nothing is applied.
/// </summary>
public static class ProfilePreviewer
{
    public static (ProfilePreview? Preview, IReadOnlyList<string> Errors) Preview(JsonElement careProfileSection, IReadOnlyList<SensorDefinition> sensors, RecentSensorEvents recording)
    {
        ArgumentNullException.ThrowIfNull(recording);
        var (config, errors) = FileCareProfileStore.Parse(Encoding.UTF8.GetBytes(careProfileSection.GetRawText()));
        if (config is null || errors.Count > 0)
        {
            return (null, errors);
        }

        var profile = ConfigLoader.ToProfile(config);
        var (events, from, until) = recording.Snapshot();
        var inputs = events.Select((e, i) => new ReplayInput(e.At, e, null, i + 1)).ToList();
        var alarms = Replay.Run(profile, sensors, inputs, until);
        return (new ProfilePreview
        {
            From = from.ToUniversalTime(),
            Until = until.ToUniversalTime(),
            Events = events.Count,
            AlarmCount = alarms.Count,
            Alarms = [.. alarms.Take(ProfilePreview.MaxAlarms).Select(a => new PreviewAlarm
            {
                Type = a.Type,
                At = a.At.ToUniversalTime(),
                SensorId = a.SensorId,
                Room = a.Room,
                Reason = a.Reason,
                Cancelled = a.State == AlarmState.Cancelled,
            })],
        }, []);
    }
}
