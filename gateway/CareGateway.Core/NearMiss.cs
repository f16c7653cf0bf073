namespace CareGateway.Core;

/// <summary>
/// A timed rule that came close to raising its alarm but did not: the condition ended (the resident came back inside, got
/// back into bed, left the bathroom, moved again) after <paramref name="Elapsed"/> of the rule's
/// <paramref name="Limit"/>, within the last <see cref="RuleEngine.NearMissFraction"/> of it. An observation for tuning
/// a profile (<c>care-gateway replay</c>), never an alarm: nothing is sent for it.
/// </summary>
/// <param name="Type">The alarm type of the rule (<c>wandering</c>, <c>bed-exit</c>, <c>bathroom-stay</c>, <c>inactivity</c>).</param>
/// <param name="SensorId">The sensor that started the timer (the door, the bed, the bathroom sensor), if any.</param>
/// <param name="Room">That sensor's room, if any.</param>
/// <param name="Since">When the timer started (the door opened, the resident got up, ...).</param>
/// <param name="At">When the condition ended, short of the limit.</param>
/// <param name="Limit">How long the rule allows before it raises.</param>
/// <param name="Ended">What ended it, in words that go before "after 4 min 50 s": "back", "back in bed", ...</param>
public sealed record NearMiss(string Type, string? SensorId, string? Room, DateTimeOffset Since, DateTimeOffset At, TimeSpan Limit, string Ended)
{
    /// <summary>How long the condition lasted.</summary>
    public TimeSpan Elapsed => At - Since;

    /// <summary>How much was missing to the limit.</summary>
    public TimeSpan ShortBy => Limit - Elapsed;

    /// <summary>In words, for example "near miss: wandering - back after 4 min 50 s, 10 s short of the 5 min limit".</summary>
    public string Describe() => $"near miss: {Type} - {Ended} after {HumanTime.Duration(Elapsed)}, {HumanTime.Duration(ShortBy)} short of the {HumanTime.Duration(Limit)} limit";

    /// <summary>Is a condition that ended after <paramref name="elapsed"/> of <paramref name="limit"/> close enough to count.</summary>
    public static bool IsClose(TimeSpan elapsed, TimeSpan limit) =>
        limit > TimeSpan.Zero && elapsed < limit && elapsed >= limit * (1 - RuleEngine.NearMissFraction);
}
