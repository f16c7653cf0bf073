using System.Text.Json;

namespace CareGateway.Core.Commands;

/// <summary>
/// Where the resident's care profile lives and how it is replaced from the centre. The gateway host implements it
/// over its configuration format (validation, durable storage, applying it to the rules); a new profile format plugs
/// in here without touching the command protocol.
/// </summary>
public interface ICareProfileStore
{
    /// <summary>
    /// Validates <paramref name="careProfileSection"/> (the careProfile section as in the gateway configuration) and,
    /// only if it is valid, stores it durably and makes it the profile in use, as one step. Returns every problem found,
    /// each naming its field (<c>$.careProfile.nightWindow.start: ...</c>); empty when the profile was applied. On any
    /// problem, and when storing fails (an exception), the profile in use stays exactly as it was.
    /// </summary>
    IReadOnlyList<string> TryReplace(JsonElement careProfileSection);
}
