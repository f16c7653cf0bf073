using CareGateway.Core;
using Microsoft.Extensions.Logging;

namespace CareGateway;

/// <summary>
/// Makes a held pre-alarm visible in the log; <see cref="IndicatorPreAlarmSignal"/> sounds the buzzer and lights the
/// alarm LEDs and tells this one too.
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
