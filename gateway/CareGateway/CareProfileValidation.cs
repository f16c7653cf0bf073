using System.Globalization;
using CareGateway.Core;
using CareGateway.Protocol;

namespace CareGateway;

/// <summary>Checks the <c>careProfile</c> section (every problem with its JSON path) and turns it into a <see cref="CareProfile"/>.</summary>
public static class CareProfileValidation
{
    private const string Root = "$.careProfile";

    public static void Validate(CareProfileConfig profile, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(errors);
        try
        {
            TimeZoneInfo.FindSystemTimeZoneById(profile.TimeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            errors.Add($"{Root}.timeZone: '{profile.TimeZone}' is not a known IANA time zone (for example Europe/Oslo)");
        }

        Window(profile.NightWindow, $"{Root}.nightWindow", errors);
        Range(profile.Wandering.GraceMinutes, 0, 180, $"{Root}.wandering.graceMinutes", "minutes", errors, exclusiveMin: true);

        Range(profile.BedExit.MinInBedMinutes, 0, 240, $"{Root}.bedExit.minInBedMinutes", "minutes", errors);
        Range(profile.BedExit.MaxAbsentMinutes, 0, 240, $"{Root}.bedExit.maxAbsentMinutes", "minutes", errors, exclusiveMin: true);

        Range(profile.BathroomStay.MaxMinutes, 5, 600, $"{Root}.bathroomStay.maxMinutes", "minutes", errors);
        if (profile.BathroomStay.Enabled && profile.BathroomStay.Rooms.Count == 0)
        {
            errors.Add($"{Root}.bathroomStay.rooms: name at least one room label (the 'room' of the bathroom's sensors)");
        }

        for (var i = 0; i < profile.BathroomStay.Rooms.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(profile.BathroomStay.Rooms[i]))
            {
                errors.Add($"{Root}.bathroomStay.rooms[{i}]: must be a room label");
            }
        }

        var deadline = Time(profile.NotUp.Deadline, $"{Root}.notUp.deadline", errors);
        if (profile.NotUp.From is not null && Time(profile.NotUp.From, $"{Root}.notUp.from", errors) is { } from && from == deadline)
        {
            errors.Add($"{Root}.notUp.from: must be before the deadline {profile.NotUp.Deadline}");
        }

        var inactivity = profile.Inactivity;
        if (inactivity.Mode is not ("continuous" or "windows"))
        {
            errors.Add($"{Root}.inactivity.mode: '{inactivity.Mode}' is not a mode: use 'continuous' or 'windows'");
        }

        Range(inactivity.DayHours, 0.5, 50, $"{Root}.inactivity.dayHours", "hours", errors);
        Range(inactivity.NightHours, 0.5, 50, $"{Root}.inactivity.nightHours", "hours", errors);
        if (inactivity is { Enabled: true, Mode: "windows", Windows.Count: 0 })
        {
            errors.Add($"{Root}.inactivity.windows: mode 'windows' needs at least one daily window");
        }

        for (var i = 0; i < inactivity.Windows.Count; i++)
        {
            Window(inactivity.Windows[i], $"{Root}.inactivity.windows[{i}]", errors);
        }

        if (profile.Technical.LowBatteryPercent is < 1 or > 99)
        {
            errors.Add($"{Root}.technical.lowBatteryPercent: {profile.Technical.LowBatteryPercent} is outside 1-99 %");
        }

        Range(profile.Away.MaxHours, 1, 720, $"{Root}.away.maxHours", "hours", errors);
        Range(profile.Visitor.MaxMinutes, 5, 720, $"{Root}.visitor.maxMinutes", "minutes", errors);
        if (profile.Away.AutoAfterMinutes is { } auto)
        {
            Range(auto, 1, 240, $"{Root}.away.autoAfterMinutes", "minutes", errors);
        }

        var pre = profile.PreAlarm;
        Range(pre.CancelWindowSeconds, 10, 600, $"{Root}.preAlarm.cancelWindowSeconds", "seconds", errors);
        Range(pre.FallGuardSeconds, 0, PreAlarmRule.MaxFallGuardSeconds, $"{Root}.preAlarm.fallGuardSeconds", "seconds (a fall is held at most a short guard time)", errors);
        for (var i = 0; i < pre.CancellableTypes.Count; i++)
        {
            var type = pre.CancellableTypes[i];
            if (!AlarmCatalog.IsKnown(type))
            {
                errors.Add($"{Root}.preAlarm.cancellableTypes[{i}]: '{type}' is not an alarm type");
            }
            else if (PreAlarmRule.NeverDelayed.Contains(type))
            {
                errors.Add($"{Root}.preAlarm.cancellableTypes[{i}]: '{type}' is never delayed or cancelled locally");
            }
            else if (AlarmCatalog.Get(type).Technical)
            {
                errors.Add($"{Root}.preAlarm.cancellableTypes[{i}]: '{type}' is a technical alarm; the resident cannot cancel it");
            }
        }

        foreach (var type in profile.Priorities.Keys.Where(t => !AlarmCatalog.IsKnown(t)))
        {
            errors.Add($"{Root}.priorities.{type}: '{type}' is not an alarm type");
        }
    }

    /// <summary>The care profile the rules use, from its validated configuration.</summary>
    public static CareProfile ToProfile(CareProfileConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new CareProfile
        {
            TimeZone = config.TimeZone,
            NightWindow = ToWindow(config.NightWindow),
            Wandering = new WanderingRule { Enabled = config.Wandering.Enabled, GraceMinutes = config.Wandering.GraceMinutes, Priority = config.Wandering.Priority },
            BedExit = new BedExitRule
            {
                Enabled = config.BedExit.Enabled,
                MinInBedMinutes = config.BedExit.MinInBedMinutes,
                MaxAbsentMinutes = config.BedExit.MaxAbsentMinutes,
                Priority = config.BedExit.Priority,
            },
            BathroomStay = new BathroomStayRule
            {
                Enabled = config.BathroomStay.Enabled,
                MaxMinutes = config.BathroomStay.MaxMinutes,
                Rooms = [.. config.BathroomStay.Rooms],
                Priority = config.BathroomStay.Priority,
            },
            NotUp = new NotUpRule
            {
                Enabled = config.NotUp.Enabled,
                Deadline = Parse(config.NotUp.Deadline)!.Value,
                From = Parse(config.NotUp.From),
                Priority = config.NotUp.Priority,
            },
            Inactivity = new InactivityRule
            {
                Enabled = config.Inactivity.Enabled,
                Mode = config.Inactivity.Mode == "windows" ? InactivityMode.Windows : InactivityMode.Continuous,
                DayHours = config.Inactivity.DayHours,
                NightHours = config.Inactivity.NightHours,
                Windows = [.. config.Inactivity.Windows.Select(ToWindow)],
                Priority = config.Inactivity.Priority,
            },
            Technical = new TechnicalRules
            {
                LowBattery = config.Technical.LowBattery,
                LowBatteryPercent = config.Technical.LowBatteryPercent,
                Tamper = config.Technical.Tamper,
                SensorOffline = config.Technical.SensorOffline,
                GatewayPower = config.Technical.GatewayPower,
            },
            Away = new AwayRule { MaxHours = config.Away.MaxHours, AutoAfterMinutes = config.Away.AutoAfterMinutes },
            Visitor = new VisitorRule { MaxMinutes = config.Visitor.MaxMinutes },
            PreAlarm = new PreAlarmRule
            {
                Enabled = config.PreAlarm.Enabled,
                CancelWindowSeconds = config.PreAlarm.CancelWindowSeconds,
                FallGuardSeconds = config.PreAlarm.FallGuardSeconds,
                CancellableTypes = [.. config.PreAlarm.CancellableTypes],
            },
            Priorities = new Dictionary<string, AlarmPriority>(config.Priorities, StringComparer.Ordinal),
        };
    }

    private static TimeWindow ToWindow(TimeWindowConfig w) => new(Parse(w.Start)!.Value, Parse(w.End)!.Value);

    private static void Window(TimeWindowConfig window, string at, List<string> errors)
    {
        var start = Time(window.Start, $"{at}.start", errors);
        var end = Time(window.End, $"{at}.end", errors);
        if (start is not null && start == end)
        {
            errors.Add($"{at}: start and end are both {window.Start}; a window needs a length");
        }
    }

    private static TimeOnly? Time(string? text, string at, List<string> errors)
    {
        var t = Parse(text);
        if (t is null)
        {
            errors.Add($"{at}: '{text}' is not a time of day as HH:mm");
        }

        return t;
    }

    private static void Range(double value, double min, double max, string at, string unit, List<string> errors, bool exclusiveMin = false)
    {
        var tooLow = exclusiveMin ? value <= min : value < min;
        if (tooLow || value > max || double.IsNaN(value))
        {
            errors.Add(string.Create(CultureInfo.InvariantCulture, $"{at}: {value} is outside {min}-{max} {unit}"));
        }
    }

    private static TimeOnly? Parse(string? text) =>
        TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var t) ? t : null;
}
