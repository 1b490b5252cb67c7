/** Typed errors of the storage layer. Each has a stable `code` and a French `message` fit for the user. */

export class DbError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The vault is locked (or was never unlocked): unlock it with the PIN first. */
export class VaultLockedError extends DbError {
  constructor() {
    super("vault.locked", "L'application est verrouillée : saisissez votre code pour continuer.");
  }
}

/** No vault on this database yet: create one (first sign-in on this device). */
export class VaultMissingError extends DbError {
  constructor() {
    super("vault.missing", "Aucun coffre sur cet appareil pour ce compte : connectez-vous d'abord.");
  }
}

export class VaultExistsError extends DbError {
  constructor() {
    super("vault.exists", "Un coffre existe déjà pour ce compte sur cet appareil.");
  }
}

/** Wrong PIN; `attemptsLeft` before the PIN is disabled (then only the password opens the vault). */
export class WrongPinError extends DbError {
  constructor(readonly attemptsLeft: number) {
    super(
      "vault.wrong_pin",
      attemptsLeft > 0
        ? `Code incorrect. Il reste ${attemptsLeft} essai(s) avant de devoir utiliser votre mot de passe.`
        : "Code incorrect. Connectez-vous avec votre mot de passe pour choisir un nouveau code.",
    );
  }
}

/** Too many wrong PINs (or PIN never set): only `recoverWithPassword` opens the vault now. */
export class PinDisabledError extends DbError {
  constructor() {
    super(
      "vault.pin_disabled",
      "Le code est désactivé après trop d'essais : connectez-vous avec votre mot de passe pour en choisir un nouveau.",
    );
  }
}

export class WrongPasswordError extends DbError {
  constructor() {
    super(
      "vault.wrong_password",
      "Ce mot de passe n'ouvre pas les données de cet appareil (a-t-il été changé depuis la dernière connexion ?). Utilisez votre code.",
    );
  }
}

export class WeakPinError extends DbError {
  constructor() {
    super("vault.weak_pin", "Le code doit comporter au moins 4 caractères.");
  }
}

/** Stored data could not be decrypted: altered, or encrypted with another key. */
export class CorruptDataError extends DbError {
  constructor(what: string) {
    super("db.corrupt", `Donnée illisible sur l'appareil (${what}).`);
  }
}

export class RecordNotFoundError extends DbError {
  constructor(readonly id: string) {
    super("record.not_found", "Fiche introuvable sur l'appareil.");
  }
}

/** The operation does not apply to a record in this local status (e.g. editing a record being sent). */
export class RecordStateError extends DbError {
  constructor(
    readonly id: string,
    readonly status: string,
    action: string,
  ) {
    super("record.bad_state", `Impossible de ${action} : la fiche est dans l'état « ${status} ».`);
  }
}

/** Logout refused: records not sent yet and not exported since their last change. */
export class UnsentRecordsError extends DbError {
  constructor(readonly unsent: number) {
    super(
      "logout.unsent_records",
      `${unsent} fiche(s) ne sont pas encore envoyées. Envoyez-les ou exportez-les avant de vous déconnecter.`,
    );
  }
}

export class ExportFileError extends DbError {
  constructor(reason: "format" | "passphrase") {
    super(
      `export.${reason}`,
      reason === "passphrase"
        ? "Phrase de passe incorrecte, ou fichier abîmé."
        : "Ce fichier n'est pas un export Terrain lisible.",
    );
  }
}
