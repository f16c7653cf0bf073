using CareGateway.Core;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary>
/// Makes a held pre-alarm visible in the log. The buzzer and LED outputs plug in through the same
/// <see cref="IPreAlarmSignal"/>; until a board declares them, this is the only trace of the cancel window.
/// </summary>
public sealed class LoggingPreAlarmSignal(ILogger log) : IPreAlarmSignal
{
    public void Started(AlarmRequest alarm, DateTimeOffset until)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        log.LogWarning("Pre-alarm: '{Type}' from {Sensor} is held until {Until:O}; the cancel button cancels it", alarm.Type, alarm.SensorId ?? "-", until);
    }

    public void Ended(AlarmRequest alarm, bool cancelled)
    {
        ArgumentNullException.ThrowIfNull(alarm);
        log.LogWarning("Pre-alarm: '{Type}' from {Sensor} {Outcome}", alarm.Type, alarm.SensorId ?? "-", cancelled ? "cancelled by the resident; reported as cancelled" : "not cancelled; sent");
    }
}
