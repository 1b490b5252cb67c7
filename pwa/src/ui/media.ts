// Capturing attachments on the device: photos resized before they are stored (a 12 Mpx photo becomes
// ~200 KB), audio through MediaRecorder, signatures drawn on a canvas. Each gives a Blob and its SHA-256,
// the name the sync protocol uploads it under.

export interface Captured {
  blob: Blob;
  sha256: string;
  mediaType: string;
  size: number;
}

export const PHOTO_MAX_SIDE = 1600;
const PHOTO_QUALITY = 0.82;

export async function sha256Hex(blob: Blob): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export async function captured(blob: Blob): Promise<Captured> {
  const mediaType = blob.type.split(";")[0] ?? "application/octet-stream";
  return { blob, sha256: await sha256Hex(blob), mediaType, size: blob.size };
}

function canvasBlob(canvas: HTMLCanvasElement, type: string, quality?: number): Promise<Blob> {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => {
      if (blob) resolve(blob);
      else reject(new Error("canvas.toBlob gave nothing"));
    }, type, quality);
  });
}

/** A photo from the camera or the gallery, resized so that its longest side is at most PHOTO_MAX_SIDE. */
export async function resizePhoto(file: Blob): Promise<Captured> {
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const context = canvas.getContext("2d");
  if (!context) throw new Error("no 2d canvas");
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return captured(await canvasBlob(canvas, "image/jpeg", PHOTO_QUALITY));
}

export async function canvasToPng(canvas: HTMLCanvasElement): Promise<Captured> {
  return captured(await canvasBlob(canvas, "image/png"));
}

/** The audio formats the server accepts, in order of preference (Chromium records webm/opus). */
const AUDIO_TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/ogg;codecs=opus", "audio/mp4"];

export interface Recorder {
  /** Milliseconds since the recording started. */
  elapsed(): number;
  stop(): Promise<Captured>;
}

export async function startRecording(): Promise<Recorder> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const mimeType = AUDIO_TYPES.find((type) => MediaRecorder.isTypeSupported(type));
  const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : {});
  const chunks: Blob[] = [];
  recorder.addEventListener("dataavailable", (event) => {
    if (event.data.size > 0) chunks.push(event.data);
  });
  const started = performance.now();
  recorder.start(1000);
  return {
    elapsed: () => performance.now() - started,
    stop: () =>
      new Promise<Captured>((resolve, reject) => {
        recorder.addEventListener("stop", () => {
          for (const track of stream.getTracks()) track.stop();
          const type = (recorder.mimeType || "audio/webm").split(";")[0] ?? "audio/webm";
          captured(new Blob(chunks, { type })).then(resolve, reject);
        });
        recorder.stop();
      }),
  };
}
