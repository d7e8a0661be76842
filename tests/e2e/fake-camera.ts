import { writeFile } from 'node:fs/promises'
import sharp from 'sharp'

/**
 * A video file for chromium's fake camera (`--use-file-for-fake-video-capture`): an image (the
 * check-in QR code PNG a registrant was emailed) centred on white in a 640×480 frame, as
 * uncompressed YUV4MPEG2 4:2:0. The picture is grey, so only the luma plane carries it; chroma is
 * neutral. Chromium loops the file's frames for as long as the camera is open.
 */
export const FAKE_CAMERA_WIDTH = 640
export const FAKE_CAMERA_HEIGHT = 480

export async function writeFakeCameraVideo(image: Buffer, path: string, frames = 5) {
  const side = Math.round(FAKE_CAMERA_HEIGHT * 0.8)
  const luma = await sharp(image)
    .resize(side, side, { fit: 'contain', background: '#ffffff', kernel: 'nearest' })
    .flatten({ background: '#ffffff' })
    .extend({
      top: Math.floor((FAKE_CAMERA_HEIGHT - side) / 2),
      bottom: Math.ceil((FAKE_CAMERA_HEIGHT - side) / 2),
      left: Math.floor((FAKE_CAMERA_WIDTH - side) / 2),
      right: Math.ceil((FAKE_CAMERA_WIDTH - side) / 2),
      background: '#ffffff',
    })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true })
  if (luma.info.width !== FAKE_CAMERA_WIDTH || luma.info.height !== FAKE_CAMERA_HEIGHT || luma.info.channels !== 1) {
    throw new Error(`Unexpected frame: ${luma.info.width}×${luma.info.height}×${luma.info.channels}`)
  }
  const chroma = Buffer.alloc((FAKE_CAMERA_WIDTH / 2) * (FAKE_CAMERA_HEIGHT / 2), 128)
  const header = Buffer.from(`YUV4MPEG2 W${FAKE_CAMERA_WIDTH} H${FAKE_CAMERA_HEIGHT} F30:1 Ip A1:1 C420jpeg\n`, 'latin1')
  const frame = Buffer.concat([Buffer.from('FRAME\n', 'latin1'), luma.data, chroma, chroma])
  await writeFile(path, Buffer.concat([header, ...Array.from({ length: frames }, () => frame)]))
}
