// The deepseek-ocr plugin's registration: the exported entry point for OcrModel.
#include "ocr_model.h"

CITADEL_REGISTER_PLUGIN(citadel::deepseek_ocr::OcrModel, "deepseek-ocr", "0.1.0")
